"""Emulated runs of attention.cu (tensor-core and simple kernels) against a dense numpy reference."""
import sys

import numpy as np

import emu
from emu import check, launch, poison, ptr, i32, f32, store, value

rng = np.random.default_rng(2)
emu.load(files=["attention"])


def doc_bounds(cu, t, total):
    if cu is None or len(cu) < 2:
        return 0, total
    lo, hi = 0, len(cu) - 2
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if cu[mid] <= t:
            lo = mid
        else:
            hi = mid - 1
    return cu[lo], cu[lo + 1]


def reference(q, k, v, dout, cu, causal, scale):
    t, hq, d = q.shape
    g = hq // k.shape[1]
    mask = np.zeros((t, t), bool)
    for i in range(t):
        ds, de = doc_bounds(cu, i, t)
        mask[i, ds:(i + 1 if causal else de)] = True
    out = np.zeros_like(q); lse = np.zeros((hq, t)); dq = np.zeros_like(q); dk = np.zeros_like(k); dv = np.zeros_like(v)
    for h in range(hq):
        kh = h // g
        s = np.where(mask, q[:, h] @ k[:, kh].T * scale, -np.inf)
        m = s.max(1)
        p = np.exp(s - m[:, None]); l = p.sum(1); P = p / l[:, None]
        out[:, h] = P @ v[:, kh]; lse[h] = m + np.log(l)
        dP = dout[:, h] @ v[:, kh].T
        dS = P * (dP - (dP * P).sum(1)[:, None])
        dq[:, h] = dS @ k[:, kh] * scale; dk[:, kh] += dS.T @ q[:, h] * scale; dv[:, kh] += P.T @ dout[:, h]
    return out, lse, dq, dk, dv


CASES = [
    (300, 4, 2, 64, [0, 37, 37, 150, 300], True),
    (300, 4, 2, 64, [0, 37, 37, 150, 300], False),
    (257, 4, 2, 128, None, True),
    (200, 2, 1, 128, [0, 1, 129, 200], False),
    (96, 2, 1, 32, [0, 50, 96], True),
    (70, 2, 2, 80, None, False),
]

for dt in (sys.argv[1:] or ["bf16", "f16", "f32"]):
    for (t, hq, hkv, d, cu, causal) in CASES:
        what = f"attention {dt} T={t} Hq={hq} Hkv={hkv} D={d} cu={cu} causal={causal}"
        scale = 1 / np.sqrt(d)
        q = store(rng.standard_normal((t, hq, d)), dt)
        k = store(rng.standard_normal((t, hkv, d)), dt)
        v = store(rng.standard_normal((t, hkv, d)), dt)
        dout = store(rng.standard_normal((t, hq, d)), dt)
        cua = None if cu is None else np.array(cu, np.int32)
        ncu = 0 if cu is None else len(cu)
        Q, K, V, DO = (value(a, dt) for a in (q, k, v, dout))
        ro, rl, rdq, rdk, rdv = reference(Q, K, V, DO, cu, causal, scale)
        tc = dt != "f32" and d in (64, 128)
        out = poison((t, hq, d), dt)
        lse = poison((hq, t), "f32")
        common = [ptr(q), ptr(k), ptr(v), ptr(cua), i32(ncu), i32(t), i32(hq), i32(hkv)]
        if tc:
            launch(f"attn_fwd_{dt}_d{d}", ((t + 127) // 128, hq), 256, 384 * d * 2, *common, i32(int(causal)), f32(scale), ptr(out), ptr(lse))
        else:
            launch(f"attn_fwd_simple_{dt}", (t * hq * 32 + 255) // 256, 256, 0, *common, i32(d), i32(int(causal)), f32(scale), ptr(out), ptr(lse))
        t_out = 2e-2 if dt != "f32" else 1e-5
        check(value(out, dt), ro, t_out, what + " out")
        check(lse, rl, 1e-3 if dt != "f32" else 1e-5, what + " lse")
        # backward from the reference out and lse rounded as the kernels would see them
        o_dev = store(ro, dt)
        lse_dev = rl.astype(np.float32)
        delta = poison((hq, t), "f32")
        launch(f"attn_bwd_delta_{dt}", (t * hq * 32 + 255) // 256, 256, 0, ptr(dout), ptr(o_dev), i32(t), i32(hq), i32(d), ptr(delta))
        check(delta, (DO * value(o_dev, dt)).sum(2).T, 1e-5, what + " delta")
        dq = poison((t, hq, d), dt); dk = poison((t, hkv, d), dt); dv = poison((t, hkv, d), dt)
        bcommon = [ptr(q), ptr(k), ptr(v), ptr(dout), ptr(lse_dev), ptr(delta), ptr(cua), i32(ncu), i32(t), i32(hq), i32(hkv)]
        if tc:
            bq = 32 if d >= 128 else 64
            launch(f"attn_bwd_dkdv_{dt}_d{d}", ((t + 127) // 128, hkv), 256, (256 + 4 * bq) * d * 2 + 32 * bq,
                   *bcommon, i32(int(causal)), f32(scale), ptr(dk), ptr(dv))
            launch(f"attn_bwd_dq_{dt}_d{d}", ((t + 127) // 128, hq), 256, 512 * d * 2, *bcommon, i32(int(causal)), f32(scale), ptr(dq))
        else:
            launch(f"attn_bwd_dkdv_simple_{dt}", (t * hkv * 32 + 255) // 256, 256, 0, *bcommon, i32(d), i32(int(causal)), f32(scale), ptr(dk), ptr(dv))
            launch(f"attn_bwd_dq_simple_{dt}", (t * hq * 32 + 255) // 256, 256, 0, *bcommon, i32(d), i32(int(causal)), f32(scale), ptr(dq))
        check(value(dq, dt), rdq, t_out, what + " dq")
        check(value(dk, dt), rdk, t_out, what + " dk")
        check(value(dv, dt), rdv, t_out, what + " dv")

bad = np.zeros(1, np.int64)
for cu, want in (([0, 6, 4, 10], 2), ([1, 10], 0), ([0, 5, 9], 2), ([0, 5, 10], np.iinfo(np.int64).max)):
    c = np.array(cu, np.int32)
    launch("attn_check_cu", 1, 32, 0, ptr(c), i32(len(cu)), i32(10), ptr(bad))
    print(("ok   " if bad[0] == want else "FAIL ") + f"attn_check_cu {cu}: {bad[0]}")
    if bad[0] != want:
        emu.FAILS.append(f"check_cu {cu}")

print("FAILURES:", emu.FAILS if emu.FAILS else "none")
sys.exit(1 if emu.FAILS else 0)
