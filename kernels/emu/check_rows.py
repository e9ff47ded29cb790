"""Emulated runs of unary.cu, activation.cu, softmax.cu, loss.cu, norm.cu, rotary.cu against numpy."""
import math
import sys

import numpy as np
from scipy_free_erf import erf_vec

import emu
from emu import DTYPES, check, launch, poison, ptr, i32, i64, f32, f64, store, tol, value, vec_width

rng = np.random.default_rng(0)
emu.load(files=["unary", "activation", "softmax", "loss", "norm", "rotary"])


def row_groups(rows, units, per_thread):
    g = min(1024, emu.pow2_at_least((units + per_thread - 1) // per_thread))
    threads = max(g, 128)
    rpb = threads // g
    return g, threads, max(1, (rows + rpb - 1) // rpb)


# ---------------------------------------------------------------- unary
OPS = ["EXP", "LOG", "SQRT", "RSQRT", "TANH", "SIGMOID", "SILU", "GELU_TANH", "GELU_ERF", "SQUARE", "POW", "ABS"]
READS_Y = {"EXP", "SQRT", "RSQRT", "TANH", "SIGMOID"}
K = math.sqrt(2 / math.pi)


def phi(x):
    return 0.5 * (1 + erf_vec(x / math.sqrt(2)))


def fwd(op, x, p):
    return {
        "EXP": np.exp(x), "LOG": np.log(x), "SQRT": np.sqrt(x), "RSQRT": 1 / np.sqrt(x), "TANH": np.tanh(x),
        "SIGMOID": 1 / (1 + np.exp(-x)), "SILU": x / (1 + np.exp(-x)),
        "GELU_TANH": 0.5 * x * (1 + np.tanh(K * (x + 0.044715 * x ** 3))), "GELU_ERF": x * phi(x),
        "SQUARE": x * x, "POW": np.sign(x) ** (p % 2 == 1) * np.abs(x) ** p if p == int(p) else np.abs(x) ** p,
        "ABS": np.abs(x)}[op]


def bwd(op, s, g, p):
    if op == "EXP": return g * s
    if op == "LOG": return g / s
    if op == "SQRT": return g * 0.5 / s
    if op == "RSQRT": return g * s ** 3 * -0.5
    if op == "TANH": return g * (1 - s * s)
    if op == "SIGMOID": return g * (1 - s) * s
    if op == "SILU":
        sg = 1 / (1 + np.exp(-s)); return g * sg * (1 + s * (1 - sg))
    if op == "GELU_TANH":
        t = np.tanh(K * (s + 0.044715 * s ** 3)); return g * (0.5 * (1 + t) + 0.5 * s * (1 - t * t) * K * (1 + 3 * 0.044715 * s * s))
    if op == "GELU_ERF": return g * (phi(s) + s * np.exp(-s * s / 2) / math.sqrt(2 * math.pi))
    if op == "SQUARE": return g * 2 * s
    if op == "POW":
        if p == 0: return 0 * g
        return g * p * (np.sign(s) ** ((p - 1) % 2 == 1) * np.abs(s) ** (p - 1) if p == int(p) else np.abs(s) ** (p - 1))
    return g * np.sign(s)


for dt in DTYPES:
    for oi, op in enumerate(OPS):
        for p in ([2, 3, 0.5, -1, 1.7, 0] if op == "POW" else [0]):
            for n in (1, 13, 1000):
                pos = op in ("LOG", "SQRT", "RSQRT") or (op == "POW" and p != int(p))
                x = store(rng.uniform(0.1 if pos else -3, 3, n), dt)
                y = poison(n, dt)
                launch(f"unary_forward_{dt}", 2, 64, 0, i32(oi), f32(p), ptr(x), ptr(y), i64(n))
                xv = value(x, dt)
                check(value(y, dt), fwd(op, xv, p), tol(dt), f"unary fwd {op} p={p} {dt} n={n}")
                s = y if op in READS_Y else x
                g = store(rng.uniform(-1, 1, n), dt)
                gi = poison(n, dt)
                launch(f"unary_backward_{dt}", 2, 64, 0, i32(oi), f32(p), ptr(s), ptr(g), ptr(gi), i64(n))
                check(value(gi, dt), bwd(op, value(s, dt), value(g, dt), p), tol(dt), f"unary bwd {op} p={p} {dt} n={n}")

# ---------------------------------------------------------------- swiglu
for dt in DTYPES:
    for n in (1, 13, 1000):
        gate = store(rng.uniform(-4, 4, n), dt); up = store(rng.uniform(-2, 2, n), dt); d = store(rng.uniform(-1, 1, n), dt)
        out = poison(n, dt)
        launch(f"swiglu_forward_{dt}", 2, 64, 0, ptr(gate), ptr(up), ptr(out), i64(n))
        G, U, D = value(gate, dt), value(up, dt), value(d, dt)
        S = 1 / (1 + np.exp(-G))
        check(value(out, dt), G * S * U, tol(dt), f"swiglu fwd {dt} n={n}")
        dg = poison(n, dt); du = poison(n, dt)
        launch(f"swiglu_backward_{dt}", 2, 64, 0, ptr(d), ptr(gate), ptr(up), ptr(dg), ptr(du), i64(n))
        check(value(dg, dt), D * U * S * (1 + G * (1 - S)), tol(dt), f"swiglu dgate {dt} n={n}")
        check(value(du, dt), D * G * S, tol(dt), f"swiglu dup {dt} n={n}")

# ---------------------------------------------------------------- softmax
for dt in DTYPES:
    for r, n in ((1, 1), (3, 5), (5, 8), (37, 128), (3, 1000), (2, 9000), (130, 16)):
        for log in (0, 1):
            x = store(rng.uniform(-8, 8, (r, n)), dt)
            w = vec_width(dt)
            units = n // w if n % w == 0 else n
            g, threads, blocks = row_groups(r, units, 8)
            y = poison((r, n), dt)
            launch(f"softmax_forward_{dt}", blocks, threads, 0, ptr(x), ptr(y), i64(r), i64(n), i32(g), i32(log))
            X = value(x, dt)
            m = X.max(1, keepdims=True)
            ls = np.log(np.exp(X - m).sum(1, keepdims=True))
            ref = X - m - ls if log else np.exp(X - m - ls)
            check(value(y, dt), ref, tol(dt), f"softmax fwd log={log} {dt} {r}x{n} g={g}")
            go = store(rng.uniform(-1, 1, (r, n)), dt)
            gi = poison((r, n), dt)
            launch(f"softmax_backward_{dt}", blocks, threads, 0, ptr(y), ptr(go), ptr(gi), i64(r), i64(n), i32(g), i32(log))
            Y, Gv = value(y, dt), value(go, dt)
            ref = Gv - np.exp(Y) * Gv.sum(1, keepdims=True) if log else Y * (Gv - (Gv * Y).sum(1, keepdims=True))
            check(value(gi, dt), ref, tol(dt), f"softmax bwd log={log} {dt} {r}x{n}")

# ---------------------------------------------------------------- cross-entropy
IGN = -100
for dt in DTYPES:
    for r, c in ((4, 3), (7, 5), (9, 1000), (3, 5000), (130, 24)):
        for wide in (1, 0):
            x = store(rng.uniform(-3, 3, (r, c)) if c < 8 else rng.uniform(-6, 6, (r, c)), dt)
            t = rng.integers(0, c, r)
            t[rng.random(r) < 0.25] = IGN
            tt = t.astype(np.int64 if wide else np.int32)
            out = np.zeros(2, np.int64)
            launch("ce_check_targets", 1, 1024, 0, ptr(tt), i32(wide), i64(r), i64(c), i64(IGN), ptr(out))
            cnt = int((t != IGN).sum())
            if not (out[0] == cnt and out[1] == -1):
                emu.FAILS.append("ce_check"); print("FAIL ce_check", out, cnt)
            w = vec_width(dt)
            units = c // w if c % w == 0 else c
            g, threads, blocks = row_groups(r, units, 8)
            loss = poison(r, "f32"); lse = poison(r, "f32")
            launch(f"ce_forward_{dt}", blocks, threads, 0, ptr(x), ptr(tt), i32(wide), i64(r), i64(c), i64(IGN), ptr(loss), ptr(lse), i32(g))
            X = value(x, dt)
            m = X.max(1)
            L = m + np.log(np.exp(X - m[:, None]).sum(1))
            xt = np.where(t == IGN, 0, X[np.arange(r), np.clip(t, 0, c - 1)])
            refloss = np.where(t == IGN, 0, L - xt)
            check(lse, L, 1e-5, f"ce lse {dt} {r}x{c} wide={wide}")
            check(loss, refloss, 1e-5, f"ce loss {dt} {r}x{c} wide={wide}")
            up = store(np.array([1.7]), dt)
            scale = 1.0 / max(1, cnt)
            grad = poison((r, c), dt)
            launch(f"ce_backward_{dt}", blocks, threads, 0, ptr(x), ptr(tt), i32(wide), i64(r), i64(c), i64(IGN), ptr(lse), ptr(up), f64(scale), ptr(grad), i32(g))
            coef = value(up, dt)[0] * scale
            P = np.exp(X - L[:, None])
            onehot = np.zeros((r, c)); onehot[np.arange(r), np.clip(t, 0, c - 1)] = 1
            refg = np.where((t == IGN)[:, None], 0, (P - onehot) * coef)
            check(value(grad, dt), refg, tol(dt), f"ce backward {dt} {r}x{c}")
            floss = poison(r, "f32"); fgrad = poison((r, c), dt)
            launch(f"ce_fused_{dt}", blocks, threads, 0, ptr(x), ptr(tt), i32(wide), i64(r), i64(c), i64(IGN), f64(scale), ptr(floss), ptr(fgrad), i32(g))
            check(floss, refloss, 1e-5, f"ce fused loss {dt} {r}x{c}")
            check(value(fgrad, dt), np.where((t == IGN)[:, None], 0, (P - onehot) * scale), tol(dt), f"ce fused grad {dt} {r}x{c}")
            xin = x.copy(); floss2 = poison(r, "f32")
            launch(f"ce_fused_{dt}", blocks, threads, 0, ptr(xin), ptr(tt), i32(wide), i64(r), i64(c), i64(IGN), f64(scale), ptr(floss2), ptr(xin), i32(g))
            check(floss2, refloss, 1e-5, f"ce fused in place loss {dt} {r}x{c}")
            check(value(xin, dt), np.where((t == IGN)[:, None], 0, (P - onehot) * scale), tol(dt), f"ce fused in place grad {dt} {r}x{c}")
# first invalid target
tt = np.array([3, -100, 7, 12, 2, -5, 1], np.int64)
out = np.zeros(2, np.int64)
launch("ce_check_targets", 1, 1024, 0, ptr(tt), i32(1), i64(7), i64(10), i64(-100), ptr(out))
print(("ok   " if list(out) == [2, 3] else "FAIL ") + f"ce_check_targets first invalid: {list(out)} want [2, 3]")
if list(out) != [2, 3]:
    emu.FAILS.append("ce_check invalid")

# ---------------------------------------------------------------- norms
def norm_layout(rows, d, dt, max_group):
    w = vec_width(dt)
    if d % w == 0:
        nvec = d // w
        g = emu.pow2_at_least((nvec + 3) // 4)
        if g <= max_group:
            return True, row_groups_fixed(rows, g)
    return False, row_groups_fixed(rows, 256)


def row_groups_fixed(rows, g):
    threads = max(g, 128)
    rpb = threads // g
    return g, threads, max(1, (rows + rpb - 1) // rpb), rpb


for dt in DTYPES:
    for r, d in ((1, 8), (5, 37), (64, 128), (33, 1024), (3, 8192), (2, 20000), (300, 64), (9, 2048)):
        x = store(rng.uniform(-3, 3, (r, d)), dt); wt = store(rng.uniform(0.5, 1.5, d), dt)
        X, W = value(x, dt), value(wt, dt)
        cached, (g, threads, blocks, rpb) = norm_layout(r, d, dt, 1024)
        y = poison((r, d), dt); rstd = poison(r, "f32")
        launch(f"rmsnorm_forward_{dt}", blocks, threads, 0, ptr(x), ptr(wt), f32(1e-6), ptr(y), ptr(rstd), i64(r), i32(d), i32(g), i32(int(cached)))
        inv = 1 / np.sqrt((X * X).mean(1) + 1e-6)
        check(value(y, dt), X * inv[:, None] * W, tol(dt), f"rmsnorm fwd {dt} {r}x{d} cached={cached} g={g}")
        check(rstd, inv, 1e-5, f"rmsnorm rstd {dt} {r}x{d}")
        dy = store(rng.uniform(-1, 1, (r, d)), dt); DY = value(dy, dt)
        cached_b, (gb, threads_b, _, rpb_b) = norm_layout(r, d, dt, 256)
        parts = max(1, min(512, (r + rpb_b - 1) // rpb_b))
        partial = poison((parts, d), "f32")
        dx = poison((r, d), dt)
        rs = rstd.copy()
        launch(f"rmsnorm_backward_{dt}", parts, threads_b, 0, ptr(dy), ptr(x), ptr(wt), ptr(rs), ptr(dx), ptr(partial), i64(r), i32(d), i32(gb), i32(int(cached_b)))
        dw = poison(d, "f32")
        launch("norm_reduce_partials", (d + 31) // 32, (32, 32), 0, ptr(partial), i32(parts), i32(d), ptr(dw))
        R = rs.astype(np.float64)
        dot = (DY * W * X).sum(1)
        refdx = R[:, None] * W * DY - (R ** 3 * dot / d)[:, None] * X
        check(value(dx, dt), refdx, tol(dt), f"rmsnorm dx {dt} {r}x{d} cached={cached_b} g={gb} parts={parts}")
        check(dw, (DY * X * R[:, None]).sum(0), 1e-5, f"rmsnorm dweight {dt} {r}x{d}")
        for bias in (True, False):
            b = store(rng.uniform(-1, 1, d), dt) if bias else None
            xl = store(rng.uniform(1, 5, (r, d)), dt); XL = value(xl, dt)
            y = poison((r, d), dt); mean = poison(r, "f32"); rstd = poison(r, "f32")
            launch(f"layernorm_forward_{dt}", blocks, threads, 0, ptr(xl), ptr(wt), ptr(b), f32(1e-5), ptr(y), ptr(mean), ptr(rstd), i64(r), i32(d), i32(g), i32(int(cached)))
            mu = XL.mean(1); var = ((XL - mu[:, None]) ** 2).mean(1); inv = 1 / np.sqrt(var + 1e-5)
            ref = (XL - mu[:, None]) * inv[:, None] * W + (value(b, dt) if bias else 0)
            check(value(y, dt), ref, tol(dt), f"layernorm fwd {dt} {r}x{d} bias={bias}")
            check(mean, mu, 1e-5, f"layernorm mean {dt} {r}x{d}")
            check(rstd, inv, 1e-4, f"layernorm rstd {dt} {r}x{d}")
            pw = poison((parts, d), "f32"); pb = poison((parts, d), "f32"); dx = poison((r, d), dt)
            launch(f"layernorm_backward_{dt}", parts, threads_b, 0, ptr(dy), ptr(xl), ptr(wt), ptr(mean), ptr(rstd), ptr(dx), ptr(pw), ptr(pb), i64(r), i32(d), i32(gb), i32(int(cached_b)))
            dwl = poison(d, "f32"); dbl = poison(d, "f32")
            launch("norm_reduce_partials", (d + 31) // 32, (32, 32), 0, ptr(pw), i32(parts), i32(d), ptr(dwl))
            launch("norm_reduce_partials", (d + 31) // 32, (32, 32), 0, ptr(pb), i32(parts), i32(d), ptr(dbl))
            M, R = mean.astype(np.float64), rstd.astype(np.float64)
            xh = (XL - M[:, None]) * R[:, None]
            gw = DY * W
            refdx = R[:, None] * (gw - gw.mean(1, keepdims=True) - xh * (gw * xh).mean(1, keepdims=True))
            check(value(dx, dt), refdx, tol(dt), f"layernorm dx {dt} {r}x{d}")
            check(dwl, (DY * xh).sum(0), 1e-5, f"layernorm dweight {dt} {r}x{d}")
            check(dbl, DY.sum(0), 1e-5, f"layernorm dbias {dt} {r}x{d}")

# ---------------------------------------------------------------- rope
for dt in DTYPES:
    for n, h, d in ((1, 1, 2), (5, 3, 64), (3, 2, 6), (2, 2, 1024)):
        for inverse in (0, 1):
            x = store(rng.uniform(-2, 2, (n, h, d)), dt); X = value(x, dt)
            pos = rng.integers(0, 40000, n).astype(np.int64)
            freq = (1e6 ** (-2.0 * np.arange(d // 2) / d)).astype(np.float32)
            out = poison((n, h, d), dt)
            launch(f"rope_{dt}", n, 256, 0, ptr(x), ptr(pos), i32(1), ptr(freq), i32(inverse), ptr(out), i64(n), i32(h), i32(d))
            a = (pos.astype(np.float32)[:, None] * freq[None, :]).astype(np.float64)
            c, s = np.cos(a)[:, None, :], np.sin(a)[:, None, :]
            if inverse:
                s = -s
            x1, x2 = X[..., : d // 2], X[..., d // 2:]
            ref = np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)
            check(value(out, dt), ref, tol(dt), f"rope {dt} {n}x{h}x{d} inverse={inverse}")

print("FAILURES:", emu.FAILS if emu.FAILS else "none")
sys.exit(1 if emu.FAILS else 0)
