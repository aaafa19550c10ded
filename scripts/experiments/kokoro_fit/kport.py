"""PyTorch port of Kokoro-82M with the int8 ONNX weights dequantised into it."""
import sys, contextlib, json, numpy as np, torch
sys.path.insert(0, '/tmp/kfit')
from port_model import KModelLocal

HOP = 600  # samples per duration frame at 24 kHz

@contextlib.contextmanager
def onnx_like_noise():
    """The ONNX export has no random initial phase and no additive noise in SineGen: match it."""
    r, rl = torch.rand, torch.randn_like
    torch.rand = lambda *a, **k: torch.zeros(*a, **{kk: v for kk, v in k.items() if kk in ('device', 'dtype')})
    torch.randn_like = lambda x, *a, **k: torch.zeros_like(x)
    try:
        yield
    finally:
        torch.rand, torch.randn_like = r, rl

def load(path='/tmp/kfit/kokoro_dequant.pt'):
    m = KModelLocal()
    missing, unexpected = m.load_state_dict(torch.load(path), strict=False)
    assert not unexpected, unexpected
    # int8 quantisation zeroed whole output channels of some weight-normed convs: g=0, v=0 -> 0/0.
    # Make v nonzero there (g stays 0), so the effective weight is exactly 0 as in the ONNX graph.
    with torch.no_grad():
        for mod in m.modules():
            if hasattr(mod, 'weight_g') and hasattr(mod, 'weight_v'):
                zero = (mod.weight_g == 0).expand_as(mod.weight_v) if mod.weight_g.shape[0] == mod.weight_v.shape[0] else None
                if zero is not None and zero.any():
                    mod.weight_v[zero] = 1.0
    # The ONNX graph's inverse STFT equals torch.istft (TorchSTFT) times 1.5; kokoro's CustomSTFT.inverse differs.
    from kokoro.istftnet import TorchSTFT
    ts = TorchSTFT(filter_length=20, hop_length=5, win_length=20)
    m.decoder.generator.stft.inverse = lambda mag, ph, length=None: 1.5 * ts.inverse(mag, ph)
    m.eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m

def vocab():
    return json.load(open('/tmp/kfit/config.json'))['vocab']

@torch.no_grad()
def prosody(m, ids, ref_s, durations=None, speed=1.0):
    """Everything that does not depend on the timbre half: returns (asr, F0, N, durations)."""
    input_ids = torch.LongTensor([[0, *ids, 0]])
    L = input_ids.shape[1]
    input_lengths = torch.full((1,), L, dtype=torch.long)
    text_mask = torch.zeros(1, L, dtype=torch.bool)
    bert_dur = m.bert(input_ids, attention_mask=(~text_mask).int())
    d_en = m.bert_encoder(bert_dur).transpose(-1, -2)
    s = ref_s[:, 128:]
    d = m.predictor.text_encoder(d_en, s, input_lengths, text_mask)
    if durations is None:
        x, _ = m.predictor.lstm(d)
        duration = torch.sigmoid(m.predictor.duration_proj(x)).sum(axis=-1) / speed
        durations = torch.round(duration).clamp(min=1).long().squeeze(0)
    durations = torch.as_tensor(durations, dtype=torch.long)
    idx = torch.repeat_interleave(torch.arange(L), durations)
    aln = torch.zeros(L, idx.shape[0]); aln[idx, torch.arange(idx.shape[0])] = 1
    aln = aln.unsqueeze(0)
    en = d.transpose(-1, -2) @ aln
    F0, N = m.predictor.F0Ntrain(en, s)
    t_en = m.text_encoder(input_ids, input_lengths, text_mask)
    asr = t_en @ aln
    return asr, F0, N, durations

def decode(m, asr, F0, N, timbre):
    """timbre: (1,128) tensor (may require grad)."""
    with onnx_like_noise():
        return m.decoder(asr, F0, N, timbre).squeeze()

def synth(m, ids, ref_s, durations=None, speed=1.0):
    asr, F0, N, dur = prosody(m, ids, ref_s, durations, speed)
    with torch.no_grad():
        return decode(m, asr, F0, N, ref_s[:, :128]), dur
