import sys, time, numpy as np, torch
sys.path.insert(0, '/tmp/kfit')
import kport
torch.set_num_threads(2)
m = kport.load()
from misaki import espeak
ph = espeak.EspeakG2P(language='en-us')("everyone here today endeavoring towards a better, more just future for our country and our world.")[0]
V = kport.vocab(); ids = [V[c] for c in ph if c in V]
pack = np.fromfile('/root/.cache/talker/models/kokoro-voices/af_heart.bin', dtype='<f4').reshape(-1, 256)
style = torch.tensor(pack[len(ids)].reshape(1, 256))
print('style[:128] mean abs %.3f std %.3f; pack rows std of [:128] across rows %.3f' % (style[0,:128].abs().mean(), style[0,:128].std(), pack[:, :128].std(0).mean()))
other = np.fromfile('/root/.cache/talker/models/kokoro-voices/af_bella.bin', dtype='<f4').reshape(-1, 256)
print('||heart-bella||[:128] %.3f' % np.linalg.norm(pack[len(ids), :128] - other[len(ids), :128]))
t = time.time(); asr, F0, N, dur = kport.prosody(m, ids, style); print('prosody', time.time() - t, 'frames', asr.shape)
for W in [40, 80]:
    tim = style[:, :128].clone().requires_grad_(True)
    t = time.time()
    a = kport.decode(m, asr[:, :, 20:20+W], F0[:, 40:40+2*W], N[:, 40:40+2*W], tim)
    t1 = time.time(); a.pow(2).mean().backward(); t2 = time.time()
    print(f'W={W} frames ({W*600/24000:.1f}s): fwd {t1-t:.1f}s bwd {t2-t1:.1f}s', a.shape)
