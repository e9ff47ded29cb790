"""Emulated runs of block_attention.cu (tensor-core and simple kernels, metadata, delta, merge) against a
dense float64 numpy reference of attention under a block mask: key j visible to query i iff
doc(i) == doc(j) and (not causal or pos(j) <= pos(i)). Launch shapes mirror BlockAttentionLaunchers.

Usage: python3 check_block_attention.py [bf16] [f16] [f32] [quick]   (EMU_OUT: the build folder)
"""
import os
import sys

import numpy as np

import emu
from emu import check, launch, poison, ptr, i32, f32, store, value

rng = np.random.default_rng(5)
emu.load(out=os.environ.get("EMU_OUT", "/tmp/panomni-emu-block"), files=["block_attention"])
CHUNK = 32


def visible(qpos, kpos, qdoc, kdoc, causal):
    m = qdoc[:, None] == kdoc[None, :]
    if causal:
        m &= kpos[None, :] <= qpos[:, None]
    return m


def reference_forward(q, k, v, mask, scale):
    tq, hq, d = q.shape
    g = hq // k.shape[1]
    out = np.zeros_like(q)
    lse = np.full((hq, tq), -np.inf)
    seen = mask.any(1)
    for h in range(hq):
        kh = h // g
        s = np.where(mask, q[:, h] @ k[:, kh].T * scale, -np.inf)
        m = np.where(seen, s.max(1), 0.0)
        p = np.where(mask, np.exp(s - m[:, None]), 0.0)
        l = p.sum(1)
        out[seen, h] = (p[seen] / l[seen, None]) @ v[:, kh]
        lse[h, seen] = m[seen] + np.log(l[seen])
    return out, lse


def reference_backward(dout, dlse, q, k, v, out, lse, mask, scale):
    """Gradients given (possibly merged) out and lse: P = exp(s - lse) on visible pairs."""
    tq, hq, d = q.shape
    g = hq // k.shape[1]
    dq = np.zeros_like(q); dk = np.zeros_like(k); dv = np.zeros_like(v)
    delta = (dout * out).sum(2).T - (0 if dlse is None else dlse)
    for h in range(hq):
        kh = h // g
        live = mask & np.isfinite(lse[h])[:, None]
        l = np.where(np.isfinite(lse[h]), lse[h], 0.0)
        s = q[:, h] @ k[:, kh].T * scale
        P = np.where(live, np.exp(s - l[:, None]), 0.0)
        dP = dout[:, h] @ v[:, kh].T
        dS = P * (dP - delta[h][:, None])
        dq[:, h] = dS @ k[:, kh] * scale
        dk[:, kh] += dS.T @ q[:, h] * scale
        dv[:, kh] += P.T @ dout[:, h]
    return dq, dk, dv, delta


def ring_tokens(n, cu, idx, within_doc):
    """Positions and documents of global tokens idx of a sequence of n tokens split by cu."""
    doc = np.searchsorted(np.array(cu), np.arange(n), side="right") - 1
    pos = np.arange(n) - np.array(cu)[doc] if within_doc else np.arange(n)
    return pos[idx], doc[idx]


# (name, Tq, Tk, Hq, Hkv, D, causal, metadata) where metadata gives (qpos, kpos, qdoc, kdoc).
def meta_ring(n, cu, qidx, kidx, within_doc=False):
    def make():
        qp, qd = ring_tokens(n, cu, qidx, within_doc)
        kp, kd = ring_tokens(n, cu, kidx, within_doc)
        return qp, kp, qd, kd
    return make


def meta_random(tq, tk, docs):
    def make():
        qd = rng.integers(0, docs, tq); kd = rng.integers(0, docs, tk)
        qp = rng.integers(0, 3 * max(tq, tk), tq); kp = rng.integers(0, 3 * max(tq, tk), tk)
        return qp, kp, qd, kd
    return make


def rng_range(a, b):
    return np.arange(a, b)


CASES = [
    # query block after the key block: causal tiles of one document are fully visible (BLK_ALL)
    ("q after k", 200, 256, 4, 2, 64, True, meta_ring(1024, [0, 100, 760, 1024], rng_range(600, 800), rng_range(200, 456))),
    # query block before the key block: nothing visible under causal (output 0, lse -inf)
    ("q before k", 130, 140, 2, 1, 64, True, meta_ring(600, [0, 600], rng_range(0, 130), rng_range(300, 440))),
    # the same block: the diagonal, documents starting mid-tile, an empty document
    ("q = k", 300, 300, 4, 2, 64, True, meta_ring(300, [0, 37, 37, 150, 300], rng_range(0, 300), rng_range(0, 300))),
    # the same block, one document: diagonal tiles of one document must stay masked
    ("q = k one document", 256, 256, 2, 1, 64, True, meta_ring(256, [0, 256], rng_range(0, 256), rng_range(0, 256))),
    ("q = k one document D128", 192, 192, 2, 2, 128, True, meta_ring(192, [0, 192], rng_range(0, 192), rng_range(0, 192))),
    ("q = k bidirectional", 300, 300, 4, 2, 64, False, meta_ring(300, [0, 37, 37, 150, 300], rng_range(0, 300), rng_range(0, 300))),
    # load-balanced halves (two chunks each), positions within documents, D = 128
    ("load balanced", 192, 192, 2, 1, 128, True,
     meta_ring(768, [0, 250, 768], np.r_[rng_range(96, 192), rng_range(576, 672)], np.r_[rng_range(0, 96), rng_range(672, 768)], True)),
    ("q after k D128", 160, 272, 4, 1, 128, False, meta_ring(1000, [0, 500, 1000], rng_range(700, 860), rng_range(400, 672))),
    # unsorted random documents and positions: every tile mixed, many rows see nothing
    ("random", 150, 170, 2, 2, 64, True, meta_random(150, 170, 5)),
    # other head dims (simple kernels for every dtype)
    ("simple D32", 96, 80, 4, 2, 32, True, meta_ring(400, [0, 50, 400], rng_range(150, 246), rng_range(100, 180))),
    ("simple D80", 70, 90, 2, 1, 80, False, meta_random(70, 90, 3)),
]

args = sys.argv[1:]
quick = "quick" in args
dtypes = [a for a in args if a in ("bf16", "f16", "f32")] or ["bf16", "f16", "f32"]


def run_meta(qp, kp, qd, kd, i64):
    tq, tk = len(qp), len(kp)
    arrs = []
    for a, wide in zip((qp, qd, kp, kd), i64):
        arrs.append(np.ascontiguousarray(a, np.int64 if wide else np.int32))
    nqc = (tq + CHUNK - 1) // CHUNK
    nkc = (tk + CHUNK - 1) // CHUNK
    qtok = np.full((max(tq, 1), 2), -7, np.int64); ktok = np.full((max(tk, 1), 2), -7, np.int64)
    qspan = np.full((max(nqc, 1), 4), -7, np.int64); kspan = np.full((max(nkc, 1), 4), -7, np.int64)
    launch("blk_meta", ((max(nqc, nkc) + 7) // 8, 2), 256, 0,
           ptr(arrs[0]), i32(i64[0]), ptr(arrs[1]), i32(i64[1]), i32(tq),
           ptr(arrs[2]), i32(i64[2]), ptr(arrs[3]), i32(i64[3]), i32(tk),
           ptr(qtok), ptr(qspan), ptr(ktok), ptr(kspan))
    return qtok, qspan, ktok, kspan


def expect_meta(pos, doc):
    n = len(pos)
    tok = np.stack([doc, pos], 1).astype(np.int64)
    spans = []
    for c in range(0, n, CHUNK):
        d = doc[c:c + CHUNK]; p = pos[c:c + CHUNK]
        spans.append([d.min(), d.max(), p.min(), p.max()])
    return tok, np.array(spans, np.int64)


def tile_classes(qspan_all, kspan_all, tq, tk, bq, bk, causal):
    """Counts of (NONE, ALL, SOME) over the (query tile, key tile) pairs, as blk_classify sees them."""
    def span(spans, t0, rows, total):
        c = spans[t0 // CHUNK:(min(t0 + rows, total) - 1) // CHUNK + 1]
        return c[:, 0].min(), c[:, 1].max(), c[:, 2].min(), c[:, 3].max()
    counts = [0, 0, 0]
    for i0 in range(0, tq, bq):
        qs = span(qspan_all, i0, bq, tq)
        for j0 in range(0, tk, bk):
            ks = span(kspan_all, j0, bk, tk)
            whole = i0 + bq <= tq if bq < bk else j0 + bk <= tk
            if qs[1] < ks[0] or ks[1] < qs[0] or (causal and qs[3] < ks[2]):
                counts[0] += 1
            elif whole and qs[0] == qs[1] == ks[0] == ks[1] and (not causal or qs[2] >= ks[3]):
                counts[1] += 1
            else:
                counts[2] += 1
    return counts


def warps(n):
    return (n * 32 + 255) // 256


for dt in dtypes:
    for ci, (name, tq, tk, hq, hkv, d, causal, make) in enumerate(CASES):
        if quick and ci % 3 != 0:
            continue
        tc = dt != "f32" and d in (64, 128)
        if dt == "f32" and d in (64, 128) and quick:
            continue
        what = f"block {dt} {name}: Tq={tq} Tk={tk} Hq={hq} Hkv={hkv} D={d} causal={causal}"
        scale = 1 / np.sqrt(d)
        qp, kp, qd, kd = make()
        i64 = (ci % 2, (ci // 2) % 2, 1 - ci % 2, 1)   # a mix of I32 and I64 metadata
        qtok, qspan, ktok, kspan = run_meta(qp, kp, qd, kd, i64)
        etq, eqs = expect_meta(qp, qd)
        etk, eks = expect_meta(kp, kd)
        ok = (qtok == etq).all() and (ktok == etk).all() and (qspan == eqs).all() and (kspan == eks).all()
        print(("ok   " if ok else "FAIL ") + what + " metadata", flush=True)
        if not ok:
            emu.FAILS.append(what + " metadata")
        mask = visible(qp, kp, qd, kd, causal)
        if tc:
            fc = tile_classes(eqs, eks, tq, tk, 128, 64, causal)
            bc = tile_classes(eqs, eks, tq, tk, 32 if d >= 128 else 64, 128, causal)
            print(f"     tiles (none, all, some): forward/dQ {fc}, dK/dV {bc}", flush=True)

        q = store(rng.standard_normal((tq, hq, d)), dt)
        k = store(rng.standard_normal((tk, hkv, d)), dt)
        v = store(rng.standard_normal((tk, hkv, d)), dt)
        dout = store(rng.standard_normal((tq, hq, d)), dt)
        Q, K, V, DO = (value(a, dt) for a in (q, k, v, dout))
        ro, rl = reference_forward(Q, K, V, mask, scale)

        out = poison((tq, hq, d), dt)
        lse = poison((hq, tq), "f32")
        if tc:
            launch(f"blk_fwd_{dt}_d{d}", ((tq + 127) // 128, hq), 256, 384 * d * 2 + 2 * 64 * 16,
                   ptr(q), ptr(k), ptr(v), ptr(qtok), ptr(qspan), ptr(ktok), ptr(kspan), i32(tq), i32(tk), i32(hq),
                   i32(hkv), i32(int(causal)), f32(scale), ptr(out), ptr(lse))
        else:
            launch(f"blk_fwd_simple_{dt}", warps(tq * hq), 256, 0, ptr(q), ptr(k), ptr(v), ptr(qtok), ptr(ktok),
                   ptr(kspan), i32(tq), i32(tk), i32(hq), i32(hkv), i32(d), i32(int(causal)), f32(scale), ptr(out),
                   ptr(lse))
        t_out = 2e-2 if dt != "f32" else 1e-5
        check(value(out, dt), ro, t_out, what + " out")
        finite = np.isfinite(rl)
        same_inf = (np.isfinite(lse) == finite).all() and (lse[~finite] == -np.inf).all()
        print(("ok   " if same_inf else "FAIL ") + what + f" lse -inf exactly on the {int((~finite).sum())} rows that see nothing", flush=True)
        if not same_inf:
            emu.FAILS.append(what + " lse -inf rows")
        if finite.any():
            check(lse[finite], rl[finite], 1e-3 if dt != "f32" else 1e-5, what + " lse")

        # Backward given a merged out and lse (this block plus a random other block, rows that see
        # nothing anywhere keep -inf), with and without dlse.
        other = rng.standard_normal((hq, tq)) + 1.0
        other[:, ::7] = -np.inf
        ml = np.logaddexp(rl, other)
        w_self = np.where(np.isfinite(ml), np.exp(rl - np.where(np.isfinite(ml), ml, 0)), 0.0).T[:, :, None]
        mo = w_self * ro + (1 - w_self) * rng.standard_normal((tq, hq, d)) * 0.5
        o_dev = store(mo, dt)
        lse_dev = ml.astype(np.float32)
        for with_dlse in (False, True):
            tag = what + (" with dlse" if with_dlse else "")
            dl_dev = rng.standard_normal((hq, tq)).astype(np.float32) if with_dlse else None
            rdq, rdk, rdv, rdelta = reference_backward(DO, None if dl_dev is None else dl_dev.astype(np.float64), Q, K,
                                                       V, value(o_dev, dt), lse_dev.astype(np.float64), mask, scale)
            delta = poison((hq, tq), "f32")
            launch(f"blk_delta_{dt}_{dt}", warps(tq * hq), 256, 0, ptr(dout), ptr(o_dev), ptr(dl_dev), i32(tq), i32(hq),
                   i32(d), ptr(delta))
            check(delta, rdelta, 1e-5, tag + " delta")
            dq = poison((tq, hq, d), dt); dk = poison((tk, hkv, d), dt); dv = poison((tk, hkv, d), dt)
            common = [ptr(q), ptr(k), ptr(v), ptr(dout), ptr(lse_dev), ptr(delta)]
            if tc:
                bq = 32 if d >= 128 else 64
                launch(f"blk_bwd_dkdv_{dt}_d{d}", ((tk + 127) // 128, hkv), 256, (256 + 4 * bq) * d * 2 + 2 * bq * 24,
                       *common, ptr(qtok), ptr(qspan), ptr(ktok), ptr(kspan), i32(tq), i32(tk), i32(hq), i32(hkv),
                       i32(int(causal)), f32(scale), ptr(dk), ptr(dv))
                launch(f"blk_bwd_dq_{dt}_d{d}", ((tq + 127) // 128, hq), 256, 512 * d * 2 + 2 * 64 * 16,
                       *common, ptr(qtok), ptr(qspan), ptr(ktok), ptr(kspan), i32(tq), i32(tk), i32(hq), i32(hkv),
                       i32(int(causal)), f32(scale), ptr(dq))
            else:
                launch(f"blk_bwd_dkdv_simple_{dt}", warps(tk * hkv), 256, 0, *common, ptr(qtok), ptr(qspan), ptr(ktok),
                       i32(tq), i32(tk), i32(hq), i32(hkv), i32(d), i32(int(causal)), f32(scale), ptr(dk), ptr(dv))
                launch(f"blk_bwd_dq_simple_{dt}", warps(tq * hq), 256, 0, *common, ptr(qtok), ptr(ktok), ptr(kspan),
                       i32(tq), i32(tk), i32(hq), i32(hkv), i32(d), i32(int(causal)), f32(scale), ptr(dq))
            check(value(dq, dt), rdq, t_out, tag + " dq")
            check(value(dk, dt), rdk, t_out, tag + " dk")
            check(value(dv, dt), rdv, t_out, tag + " dv")

        # Merge into an accumulator holding another block's result (some rows -inf on either side).
        acc = rng.standard_normal((tq, hq, d)).astype(np.float32)
        acc_l = (rng.standard_normal((hq, tq)) + 0.5).astype(np.float32)
        acc_l[:, ::5] = -np.inf
        acc[::5] = np.nan   # an accumulator row that saw nothing may hold anything
        want_l = np.logaddexp(acc_l.astype(np.float64), lse.astype(np.float64))
        wa = np.where(np.isfinite(acc_l), np.exp(acc_l - np.where(np.isfinite(want_l), want_l, 0)), 0).T[:, :, None]
        wb = np.where(np.isfinite(lse), np.exp(lse - np.where(np.isfinite(want_l), want_l, 0)), 0).T[:, :, None]
        both_inf = ~np.isfinite(want_l).T
        want_o = np.where(np.isfinite(acc_l).T[:, :, None], np.nan_to_num(acc.astype(np.float64)) * wa, 0) + value(out, dt) * wb
        want_o = np.where(both_inf[:, :, None], acc, want_o)
        launch(f"blk_merge_{dt}", warps(tq * hq), 256, 0, ptr(acc), ptr(acc_l), ptr(out), ptr(lse), i32(tq), i32(hq), i32(d))
        keep = ~both_inf
        check(acc[keep], want_o[keep], 1e-5, what + " merge out")
        inf_ok = (acc_l[~np.isfinite(want_l)] == -np.inf).all() and np.isfinite(acc_l[np.isfinite(want_l)]).all()
        print(("ok   " if inf_ok else "FAIL ") + what + " merge lse -inf rows", flush=True)
        if not inf_ok:
            emu.FAILS.append(what + " merge lse -inf rows")
        check(acc_l[np.isfinite(want_l)], want_l[np.isfinite(want_l)], 1e-6, what + " merge lse")

print("FAILURES:", emu.FAILS if emu.FAILS else "none")
sys.exit(1 if emu.FAILS else 0)
