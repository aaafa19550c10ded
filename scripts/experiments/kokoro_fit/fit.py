"""Gradient fit of the timbre half (style[:128]) of a Kokoro voice to a reference recording.
usage: fit.py REF_NAME START_VOICE [STEPS] [LAMBDA]"""
import sys, time, json, numpy as np, torch, torchaudio, soundfile as sf, librosa
sys.path.insert(0, '/tmp/kfit')
import kport, common, os
OUT = os.environ.get('OUT', '/tmp/kfit/out')
torch.set_num_threads(2); torch.manual_seed(0); rng = np.random.default_rng(0)
ref_name, voice = sys.argv[1], sys.argv[2]
STEPS = int(sys.argv[3]) if len(sys.argv) > 3 else 30
LAM = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
W = 40; LR = 0.01; HOP = 600
T0 = time.time()
text = json.load(open('/tmp/kfit/refs/transcripts.json'))[ref_name]
ref, sr = sf.read(f'/tmp/kfit/refs/{ref_name}.wav', dtype='float32'); assert sr == 24000
ids = common.ids_of(text)
P = common.pack(voice); row = min(len(ids), 509)
style0 = torch.tensor(P[row:row + 1])

# --- reference durations: DTW of the reference against the ONNX synthesis with predicted durations
syn, dur_onnx = common.onnx_synth(ids, P)
def cmn_feat(x):
    M = np.log(librosa.feature.melspectrogram(y=x, sr=24000, n_fft=2048, hop_length=HOP, n_mels=40, center=False) + 1e-6)
    return M - M.mean(1, keepdims=True)
nref = len(ref) // HOP
ref = ref[:nref * HOP]
Fr, Fs = cmn_feat(np.pad(ref, (724, 724))), cmn_feat(np.pad(syn, (724, 724)))
Fr, Fs = Fr[:, :nref], Fs[:, :dur_onnx.sum()]
D, wp = librosa.sequence.dtw(X=Fr, Y=Fs, metric='euclidean')
tok_of_syn = np.repeat(np.arange(len(dur_onnx)), dur_onnx)
match = {}
for i, j in wp[::-1]:
    match.setdefault(i, []).append(j)
tok_of_ref = np.array([tok_of_syn[int(np.median(match[i]))] for i in range(nref)])
tok_of_ref = np.maximum.accumulate(tok_of_ref)
dur = np.bincount(tok_of_ref, minlength=len(dur_onnx)).astype(int)
for t in np.where(dur == 0)[0]:               # every token gets at least one frame, from the nearest token with >1
    k = min((k for k in range(len(dur)) if dur[k] > 1), key=lambda k: abs(k - t)); dur[k] -= 1; dur[t] += 1
assert dur.sum() == nref and dur.min() >= 1, (dur.sum(), nref)

m = kport.load()
asr, F0, N, _ = kport.prosody(m, ids, style0, durations=dur)
melT = torchaudio.transforms.MelSpectrogram(sample_rate=24000, n_fft=1024, hop_length=300, n_mels=80, f_min=50, f_max=7600, center=True, power=2.0)
FLOOR = [1e-6]
def logmel(x):
    x = x / (x.pow(2).mean().sqrt() + 1e-8)          # level-independent
    return torch.log(melT(x) + FLOOR[0])
with torch.no_grad():
    FLOOR[0] = float(torch.quantile(melT(torch.tensor(ref) / (np.sqrt(np.mean(ref ** 2)) + 1e-8)).flatten(), 0.99)) * 3e-5  # ~45 dB below the loud bins
R_full = logmel(torch.tensor(ref))
energy = (R_full.exp() - FLOOR[0]).sum(0); speech_full = energy > energy.max() * 1e-4   # frames within 40 dB of the loudest

def objective(S, R, speech):
    S, R = S[:, :R.shape[1]], R[:, :S.shape[1]]
    sp = speech[:S.shape[1]]
    if sp.sum() < 5: sp = torch.ones_like(sp)
    Sn = S[:, sp] - S[:, sp].mean(1, keepdim=True)
    Rn = R[:, sp] - R[:, sp].mean(1, keepdim=True)
    return (Sn - Rn).abs().mean()

@torch.no_grad()
def full_objective(tim):
    a = kport.decode(m, asr, F0, N, tim)
    return objective(logmel(a), R_full, speech_full).item(), a.numpy()

t_prep = time.time() - T0
obj0, a0 = full_objective(style0[:, :128])
print(f'{ref_name}: {len(ids)} tokens, {nref} frames, prep {t_prep:.0f}s; full objective at start {obj0:.4f}', flush=True)
tim0 = style0[:, :128].clone()
tim = tim0.clone().requires_grad_(True)
opt = torch.optim.Adam([tim], lr=LR)
hist = []
t_fit = time.time()
for step in range(STEPS):
    a_ = int(rng.integers(0, max(1, nref - W)))
    b_ = min(nref, a_ + W)
    out = kport.decode(m, asr[:, :, a_:b_], F0[:, 2 * a_:2 * b_], N[:, 2 * a_:2 * b_], tim)
    S = logmel(out)
    R = logmel(torch.tensor(ref[a_ * HOP:b_ * HOP]))
    e = (R.exp() - FLOOR[0]).sum(0); sp = e > e.max() * 1e-4
    rec = objective(S, R, sp)
    reg = LAM * (tim - tim0).pow(2).sum()
    loss = rec + reg
    opt.zero_grad(); loss.backward(); opt.step()
    hist.append((rec.item(), reg.item()))
    print(f'  step {step:3d} win {a_}-{b_} rec {rec.item():.4f} reg {reg.item():.4f} |d| {(tim - tim0).norm().item():.3f}  {time.time() - t_fit:.0f}s', flush=True)
t_fit = time.time() - t_fit
obj1, a1 = full_objective(tim.detach())
delta = (tim.detach() - tim0).numpy().reshape(-1)
np.save(f'{OUT}/{ref_name}_delta.npy', delta)
sf.write(f'{OUT}/{ref_name}_resynth_start.wav', a0, 24000); sf.write(f'{OUT}/{ref_name}_resynth_fit.wav', a1, 24000)
res = dict(ref=ref_name, voice=voice, text=text, steps=STEPS, lam=LAM, lr=LR, window_frames=W, obj_start=obj0, obj_fit=obj1,
           delta_norm=float(np.linalg.norm(delta)), prep_s=t_prep, fit_s=t_fit, total_s=time.time() - T0,
           first5=float(np.mean([h[0] for h in hist[:5]])), last5=float(np.mean([h[0] for h in hist[-5:]])))
json.dump(res, open(f'{OUT}/{ref_name}_fit.json', 'w'), indent=1)
print('RESULT', json.dumps(res), flush=True)
