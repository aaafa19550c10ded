import sys, numpy as np, torch
sys.path.insert(0, '/tmp/kfit')
import kport
torch.set_num_threads(2)
from misaki import espeak
ph = espeak.EspeakG2P(language='en-us')("Hello there, this is a test.")[0]
V = kport.vocab(); ids = [V[c] for c in ph if c in V]
pack = np.fromfile('/root/.cache/talker/models/kokoro-voices/af_heart.bin', dtype='<f4').reshape(-1, 256)
style = torch.tensor(pack[len(ids)].reshape(1, 256))
m = kport.load()
bad = []
def hook(name):
    def f(mod, inp, out):
        o = out[0] if isinstance(out, tuple) else out
        if torch.is_tensor(o) and not torch.isfinite(o).all() and not bad:
            ii = [torch.isfinite(x).all().item() for x in inp if torch.is_tensor(x)]
            bad.append(name); print('first nonfinite', name, type(mod).__name__, 'inputs finite', ii, o.shape)
    return f
for n, mod in m.named_modules():
    mod.register_forward_hook(hook(n))
asr, F0, N, dur = kport.prosody(m, ids, style)
print('F0', F0.min().item(), F0.max().item(), torch.isfinite(asr).all().item())
a = kport.decode(m, asr, F0, N, style[:, :128])
print(torch.isfinite(a).all().item())
