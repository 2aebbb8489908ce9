#!/usr/bin/env python3
"""Continues a ToyGPT training run in PyTorch, on one process or many (torchrun), on CPUs or GPUs.

Written for ToyGPT's hand-over (`./toygpt export --checkpoint RUN --pytorch DIR`); see README.md in this
folder for the commands. It needs Python 3 and PyTorch only.

What it keeps from the ToyGPT run, so that the run goes on as if ToyGPT had continued it:
- the model, its weights and its vocabulary (config.json, model.safetensors);
- the training settings (state.json): batch size, learning rate and its schedule, weight decay, gradient
  clipping, evaluation interval and batches, train/validation split;
- AdamW's moments and step count (optimizer.safetensors, in ToyGPT's layout, see model.toygpt_parameter_groups);
- the random batches: ToyGPT draws batch positions with a small generator (SplitMix64) whose state is saved
  in state.json; the Rng class below is the same generator, so the same windows of text come in the same order,
  whatever the number of processes (every process draws the whole batch and keeps its own rows).
Dropout masks are PyTorch's own: they cannot match ToyGPT's. PyTorch's generator is seeded from the run's seed
and the step it starts at; the checkpoints it writes give ToyGPT a fresh dropout stream derived the same way.

It writes checkpoints in ToyGPT's run-directory layout (step-NNNNNN/, checkpoints.json, metrics.csv), so
`./toygpt train --out DIR --resume`, `sample`, `chat`, `eval` and `plot` read them directly.
"""
import argparse
import contextlib
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import signal
import struct
import sys
import tempfile
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as models  # noqa: E402  (this folder's model.py)
import safetensors_io  # noqa: E402

ENGINE = "pytorch " + torch.__version__
MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


class UserError(Exception):
    """A problem with the input: reported as one line, exit code 2."""


class Rng:
    """ToyGPT's random generator (dev.toygpt.util.Rng, SplitMix64): its whole state is one 64-bit integer."""

    def __init__(self, state):
        self.state = state & MASK64

    def next_long(self):
        self.state = (self.state + GOLDEN) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def next_int(self, bound):
        """Uniform in [0, bound), exactly as ToyGPT draws it (same rejection rule)."""
        limit = MASK64 % bound
        while True:
            r = self.next_long()
            if r >= limit or limit == 0:
                return r % bound


def signed64(x):
    """A 64-bit state as Java's long, for state.json."""
    x &= MASK64
    return x - (1 << 64) if x >= 1 << 63 else x


def derived_seed(seed, step):
    """A fresh random stream for dropout, from the run's seed and a step (documented in README.md)."""
    return Rng(((seed * GOLDEN + 3) ^ (step * 0xD1B54A32D192ED03)) & MASK64).next_long()


def f32(x):
    """Rounds to single precision, as ToyGPT's float arithmetic does."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


TIME_WARMUP, TIME_DECAY = 0.05, 0.4  # dev.toygpt.train.Trainer's time schedule: 5% warm-up, decay over the last 40%
NO_STEP_LIMIT = 2 ** 31 - 1  # maxIters of a run whose only budget is its time limit (TrainSettings.NO_STEP_LIMIT)


def learning_rate_schedule(s):
    """ToyGPT's schedules (dev.toygpt.optim.LearningRateSchedule, dev.toygpt.train.Trainer): constant; linear
    warm-up then cosine decay over max_iters; or "time", which goes by the share of the time limit spent (or of
    max_iters, if further along). Returns lr(step, elapsed_seconds), in ToyGPT's float arithmetic."""
    max_lr, min_lr, warmup, decay = f32(s["learningRate"]), f32(s["minLr"]), s["warmupIters"], s["maxIters"]
    if s["schedule"] == "constant":
        return lambda step, elapsed: max_lr
    if s["schedule"] == "time":
        limit, decay_start = s["timeLimitSeconds"], max(TIME_WARMUP, 1 - TIME_DECAY)

        def by_time(step, elapsed):
            spent = min(1.0, max(0.0, max(elapsed / limit, step / decay)))
            if spent < TIME_WARMUP:
                lr = f32(max_lr * (0.1 + 0.9 * spent / TIME_WARMUP))
            elif spent <= decay_start:
                lr = max_lr
            else:
                progress = (spent - decay_start) / max(1e-9, 1 - decay_start)
                lr = f32(min_lr + (1 - progress) * f32(max_lr - min_lr))
            if step < warmup:
                lr = f32(f32(lr * (step + 1)) / (warmup + 1))
            return lr

        return by_time

    def cosine(step, elapsed):
        if step < warmup:
            return f32(f32(max_lr * (step + 1)) / (warmup + 1))
        if step >= decay:
            return min_lr
        progress = (step - warmup) / max(1, decay - warmup)
        return f32(min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * f32(max_lr - min_lr))

    return cosine


def parse_duration(text):
    """A duration as ToyGPT's --time-limit takes it: seconds, or parts such as 90s, 5m, 1h30m, 250ms, 2d."""
    v = text.strip().lower()
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    if re.fullmatch(r"\d+(\.\d+)?", v):
        return float(v)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", v)
    if not parts or "".join(n + u for n, u in parts) != v:
        raise argparse.ArgumentTypeError("'%s' is not a duration; use e.g. 90s, 5m or 1h30m" % text)
    return sum(float(n) * units[u] for n, u in parts)


def budget(settings):
    """The run's budget in words, as ToyGPT prints it: "2,000 steps", "2,000 steps or 60 s", or "60 s"."""
    limit = settings["timeLimitSeconds"]
    time_part = "%.0f s" % limit if limit > 0 else ""
    if settings["maxIters"] == NO_STEP_LIMIT:
        return time_part
    steps = "{:,} steps".format(settings["maxIters"])
    return steps + " or " + time_part if time_part else steps


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise UserError("%s not found" % path)
    except ValueError as e:
        raise UserError("%s is not valid JSON: %s" % (path, e))


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def is_number(x):
    return (is_int(x) or isinstance(x, float)) and math.isfinite(x)


# What a checkpoint's state.json and config.json must hold for train.py to continue it: (key, test, what it must be).
# ToyGPT checks its own files the same way; a damaged file gets a message, not a traceback.
SETTINGS_RULES = [
    ("batchSize", lambda v: is_int(v) and v > 0, "a positive integer"),
    ("maxIters", lambda v: is_int(v) and v > 0, "a positive integer"),
    ("evalInterval", lambda v: is_int(v) and v > 0, "a positive integer"),
    ("evalIters", lambda v: is_int(v) and v > 0, "a positive integer"),
    ("learningRate", lambda v: is_number(v) and v > 0, "a positive number"),
    ("optimizer", lambda v: v in ("adamw", "adam", "sgd"), "adamw, adam or sgd"),
    ("weightDecay", lambda v: is_number(v) and v >= 0, "a number >= 0"),
    ("gradClip", lambda v: is_number(v) and v >= 0, "a number >= 0"),
    ("schedule", lambda v: v in ("constant", "cosine", "time"), "constant, cosine or time"),
    ("warmupIters", lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    ("minLr", lambda v: is_number(v) and v >= 0, "a number >= 0"),
    ("seed", lambda v: is_int(v) and -(1 << 63) <= v < (1 << 63), "a 64-bit integer"),
    ("trainFraction", lambda v: is_number(v) and 0 < v < 1, "a number between 0 and 1"),
    ("timeLimitSeconds", lambda v: is_number(v) and v >= 0, "a number of seconds >= 0"),
]
STATE_RULES = [
    ("step", lambda v: is_int(v) and 0 <= v < NO_STEP_LIMIT, "an integer >= 0"),
    ("evaluatedStep", lambda v: is_int(v) and v < NO_STEP_LIMIT, "an integer"),
    ("trainRng", lambda v: is_int(v) and -(1 << 63) <= v < (1 << 63), "a 64-bit integer"),
    ("evalRng", lambda v: is_int(v) and -(1 << 63) <= v < (1 << 63), "a 64-bit integer"),
    ("bestValLoss", lambda v: v is None or v == "NaN" or is_number(v) or (isinstance(v, float) and math.isnan(v)), "a number, NaN or null"),
    ("bestStep", lambda v: is_int(v), "an integer"),
    ("elapsedSeconds", lambda v: is_number(v) and v >= 0, "a number of seconds >= 0"),
]
CONFIG_RULES = {
    "vocab_size": (lambda v: is_int(v) and v > 0, "a positive integer"),
    "n_embd": (lambda v: is_int(v) and v > 0, "a positive integer"),
    "n_head": (lambda v: is_int(v) and v > 0, "a positive integer"),
    "n_layer": (lambda v: is_int(v) and v > 0, "a positive integer"),
    "block_size": (lambda v: is_int(v) and v > 0, "a positive integer"),
    "hidden": (lambda v: is_int(v) and v > 0, "a positive integer"),
    "dropout": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "vocabulary": (lambda v: isinstance(v, list) and len(v) > 0 and all(is_int(cp) and 0 <= cp <= 0x10FFFF for cp in v)
                   and len(set(v)) == len(v), "a list of distinct code points"),
}
CONFIG_KEYS = {"gpt": ["vocab_size", "n_embd", "n_head", "n_layer", "block_size", "hidden", "dropout", "vocabulary"],
               "bigram": ["vocab_size", "block_size", "vocabulary"],
               "mlp-onehot": ["vocab_size", "hidden", "block_size", "vocabulary"],
               "mlp-embedding": ["vocab_size", "n_embd", "hidden", "block_size", "vocabulary"]}


def check(obj, rules, where):
    """Raises UserError naming the first field of obj (a JSON object) that breaks its rule."""
    if not isinstance(obj, dict):
        raise UserError("%s is not a JSON object" % where)
    for key, ok, what in rules:
        if key not in obj:
            raise UserError("%s has no %s (%s)" % (where, key, what))
        if not ok(obj[key]):
            value = json.dumps(obj[key])
            raise UserError("%s: %s is %s, not %s" % (where, key, value if len(value) <= 60 else value[:57] + "...", what))


def check_checkpoint(config, saved, checkpoint):
    """config.json and state.json of the checkpoint to continue: every field train.py uses, with its rule."""
    where = os.path.join(checkpoint, "config.json")
    if not isinstance(config, dict) or config.get("model") not in CONFIG_KEYS:
        raise UserError("%s: model is %s, not gpt, bigram, mlp-onehot or mlp-embedding"
                        % (where, json.dumps(config.get("model")) if isinstance(config, dict) else "missing"))
    check(config, [(key,) + CONFIG_RULES[key] for key in CONFIG_KEYS[config["model"]]], where)
    if config["model"] == "gpt" and config["n_embd"] % config["n_head"] != 0:
        raise UserError("%s: n_embd %d is not a multiple of n_head %d" % (where, config["n_embd"], config["n_head"]))
    if len(config["vocabulary"]) != config["vocab_size"]:
        raise UserError("%s: the vocabulary has %d code points, vocab_size says %d" % (where, len(config["vocabulary"]), config["vocab_size"]))
    where = os.path.join(checkpoint, "state.json")
    if not isinstance(saved, dict):
        raise UserError("%s is not a JSON object" % where)
    check(saved.get("settings"), SETTINGS_RULES, where + " settings")
    check(saved.get("state"), STATE_RULES, where + " state")
    settings = saved["settings"]
    if settings["schedule"] == "time" and not settings["timeLimitSeconds"] > 0:
        raise UserError("%s settings: the time schedule needs a time limit (timeLimitSeconds > 0)" % where)
    if settings["maxIters"] == NO_STEP_LIMIT and not settings["timeLimitSeconds"] > 0:
        raise UserError("%s settings: a run without a step limit needs a time limit (timeLimitSeconds > 0)" % where)


@contextlib.contextmanager
def unreadable_as_user_error(path):
    """A damaged weights file becomes one message naming it, not a traceback."""
    try:
        yield
    except OSError as e:
        raise UserError("cannot read %s: %s" % (path, e.strerror or e))
    except (ValueError, KeyError, IndexError) as e:  # safetensors_io's messages name the file
        raise UserError(str(e) if path in str(e) else "%s: %s" % (path, e))


def check_weights(net, weights, path):
    """Every tensor the model config.json describes, in model.safetensors with its shape (PyTorch's own message
    lists every head's tensors at once)."""
    expected = {name: tuple(t.shape) for name, t in net.state_dict().items()}
    for name, shape in expected.items():
        if name in weights and tuple(weights[name].shape) != shape:
            raise UserError("%s: %s has shape %s, but the model config.json describes needs %s"
                            % (path, name, list(weights[name].shape), list(shape)))
    missing = [n for n in expected if n not in weights and not n.endswith(".tril")]  # the causal masks are not saved
    unexpected = [n for n in weights if n not in expected]

    def few(names):
        return ", ".join(names[:3]) + (" and %d more" % (len(names) - 3) if len(names) > 3 else "")

    if missing or unexpected:
        problems = (["lacks " + few(missing)] if missing else []) + (["has " + few(unexpected)] if unexpected else [])
        raise UserError("%s does not hold the model config.json describes: %s" % (path, "; ".join(problems)))


def write_file_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    fsync_directory(directory)


def fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class RunDirectory:
    """ToyGPT's run directory (dev.toygpt.train.RunDirectory): checkpoints step-NNNNNN/, named by checkpoints.json."""

    def __init__(self, path):
        self.path = path

    def pointers(self):
        p = os.path.join(self.path, "checkpoints.json")
        ptr = read_json(p) if os.path.isfile(p) else {}
        if not isinstance(ptr, dict) or not all(isinstance(ptr.get(k, ""), str) for k in ("last", "best")):
            raise UserError("%s is not ToyGPT's checkpoints.json (an object naming the last and best checkpoints)" % p)
        return ptr

    def last(self):
        name = self.pointers().get("last")
        # a checkpoint of this directory, by its own name (step-NNNNNN): never a path that leads elsewhere
        if not name or name != os.path.basename(name) or name.startswith(".") or not os.path.isdir(os.path.join(self.path, name)):
            raise UserError("%s has no last checkpoint (checkpoints.json)" % self.path)
        return os.path.join(self.path, name)

    def save(self, step, is_best, best_val_loss, write):
        """Writes a checkpoint into a temporary directory, renames it into place, then points checkpoints.json at it."""
        ptr = self.pointers()
        last, best = ptr.get("last"), ptr.get("best")
        name, n = "step-%06d" % step, 1
        while name in (last, best):  # a checkpoint the pointers name stays until its replacement is complete
            name, n = "step-%06d-%d" % (step, n), n + 1
        target = os.path.join(self.path, name)
        tmp = tempfile.mkdtemp(prefix=".tmp-" + name + "-", dir=self.path)
        os.chmod(tmp, 0o755)
        try:
            write(tmp)
            fsync_directory(tmp)
            if os.path.exists(target):
                shutil.rmtree(target)
            os.rename(tmp, target)
            fsync_directory(self.path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        new = {"last": name}
        new_best = name if is_best else best
        if new_best:
            new["best"] = new_best
        if best_val_loss is not None and not math.isnan(best_val_loss):
            new["best_val_loss"] = best_val_loss
        write_file_atomically(os.path.join(self.path, "checkpoints.json"), json.dumps(new, indent=2) + "\n")
        for entry in os.listdir(self.path):
            stale = (entry.startswith("step-") and entry not in (name, new_best)) or entry.startswith(".tmp-step-")
            if stale and os.path.isdir(os.path.join(self.path, entry)) and os.path.join(self.path, entry) != tmp:
                shutil.rmtree(os.path.join(self.path, entry), ignore_errors=True)
        return target


class Metrics:
    """metrics.csv: step, train_loss, val_loss, lr, elapsed_s, as ToyGPT writes it."""
    HEADER = "step,train_loss,val_loss,lr,elapsed_s"

    def __init__(self, path):
        self.path = path

    def truncate_after(self, step):
        """Drops rows after the checkpoint's step (written by a run that stopped before its next checkpoint)."""
        if not os.path.isfile(self.path):
            return
        keep = []
        with open(self.path, encoding="utf-8") as f:
            for line in f.read().splitlines():
                if not line.strip():
                    continue
                if line.startswith("step"):
                    keep.append(line)
                    continue
                try:
                    if int(line.split(",", 1)[0]) <= step:
                        keep.append(line)
                except ValueError:
                    pass  # a torn last line
        write_file_atomically(self.path, "".join(l + "\n" for l in keep))

    def append(self, step, train_loss, val_loss, lr, elapsed):
        new = not os.path.isfile(self.path) or os.path.getsize(self.path) == 0
        with open(self.path, "a", encoding="utf-8") as f:
            if new:
                f.write(self.HEADER + "\n")
            f.write("%d,%.6f,%.6f,%.6g,%.3f\n" % (step, train_loss, val_loss, lr, elapsed))
            f.flush()
            os.fsync(f.fileno())


def load_text(path, expected_sha256):
    """The training text, checked against the SHA-256 recorded at export: another text would give other batches."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UserError("cannot read the training text %s: %s (give its path with --data FILE)" % (path, e.strerror))
    digest = hashlib.sha256(raw).hexdigest()
    if expected_sha256 and digest != expected_sha256:
        raise UserError("%s is not the text this run was trained on: its SHA-256 is %s, the run's is %s"
                        % (path, digest, expected_sha256))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError("%s is not valid UTF-8: %s" % (path, e))
    return text[1:] if text.startswith("\ufeff") else text  # a byte-order mark is not text (as in ToyGPT)


def encode(text, vocabulary):
    """Token ids in the checkpoint's vocabulary (config.json lists the code points in id order)."""
    stoi = {chr(cp): i for i, cp in enumerate(vocabulary)}
    try:
        return [stoi[c] for c in text]
    except KeyError:
        missing = sorted(set(text) - set(stoi))
        raise UserError("the text has %d characters the model's vocabulary lacks: %s"
                        % (len(missing), " ".join(repr(c) for c in missing[:20])))


def load_optimizer(opt, model, path, name):
    """AdamW's moments and step count from ToyGPT's optimizer.safetensors (exp_avg.i, exp_avg_sq.i per ToyGPT parameter)."""
    tensors, meta = safetensors_io.read(path)
    saved = meta.get("optimizer")
    if saved is None:
        raise UserError("%s is not an optimizer's state (its metadata names no optimizer)" % path)
    if saved != name:
        raise UserError("%s was written by %s, but the run's settings say %s" % (path, saved, name))
    steps = int(meta.get("steps", "0"))
    params = dict(model.named_parameters())
    for i, names in enumerate(models.toygpt_parameter_groups(model)):
        sizes = [params[n].numel() for n in names]
        buffers = {}
        for key in ("exp_avg", "exp_avg_sq") if name != "sgd" else ("velocity",):
            flat = tensors.get("%s.%d" % (key, i))
            if flat is None:
                if name == "sgd":
                    continue
                raise UserError("%s has no %s.%d: it does not belong to this model" % (path, key, i))
            if flat.numel() != sum(sizes):
                raise UserError("%s: %s.%d has %d values, the model's parameter needs %d" % (path, key, i, flat.numel(), sum(sizes)))
            buffers[key] = flat.reshape(-1).split(sizes)
        for j, n in enumerate(names):
            p = params[n]
            if name == "sgd":
                if "velocity" in buffers:
                    opt.state[p] = {"momentum_buffer": buffers["velocity"][j].reshape(p.shape).to(p.device).clone()}
            else:
                opt.state[p] = {"step": torch.tensor(float(steps)),
                                "exp_avg": buffers["exp_avg"][j].reshape(p.shape).to(p.device).clone(),
                                "exp_avg_sq": buffers["exp_avg_sq"][j].reshape(p.shape).to(p.device).clone()}
    return steps


def save_optimizer(opt, model, path, name, steps):
    """The optimizer's state in ToyGPT's layout, so that ToyGPT's --resume continues with it."""
    params = dict(model.named_parameters())
    out = {}
    for i, names in enumerate(models.toygpt_parameter_groups(model)):
        keys = ("velocity",) if name == "sgd" else ("exp_avg", "exp_avg_sq")
        for key in keys:
            state_key = "momentum_buffer" if key == "velocity" else key
            parts = [opt.state.get(params[n], {}).get(state_key) for n in names]
            if any(p is None for p in parts):
                continue
            out["%s.%d" % (key, i)] = torch.cat([p.detach().float().reshape(-1).cpu() for p in parts])
    safetensors_io.write(path, dict(sorted(out.items())), {"optimizer": name, "steps": str(steps)})


def parse_args():
    ap = argparse.ArgumentParser(description="Continue a ToyGPT run in PyTorch (one process, or many with torchrun).")
    ap.add_argument("--out", default=os.path.join(HERE, "run"),
                    help="run directory to continue and write to (default: run/ in this folder); a new directory "
                         "starts as a copy of run/")
    ap.add_argument("--max-iters", type=int, help="train until this step (total steps, as in ToyGPT)")
    ap.add_argument("--time-limit", type=parse_duration, metavar="DURATION",
                    help="stop once the run has trained this long, e.g. 90s, 10m, 1h, counted from its start as in "
                         "ToyGPT (its time so far is in the checkpoint); whichever of it and --max-iters comes first ends it")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--data", help="the training text, if it is no longer at the path recorded in data.json")
    ap.add_argument("--micro-batch", type=int, default=0,
                    help="rows per forward pass in each process (default: all its rows at once); smaller values "
                         "accumulate gradients, for GPUs with less memory; the global batch stays the run's")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads per process (default: PyTorch's choice)")
    ap.add_argument("--log-interval", type=int, default=10, help="print the training loss every N steps")
    return ap.parse_args()


def main():
    args = parse_args()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    distributed = world > 1
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise UserError("--device cuda, but PyTorch sees no CUDA device")
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if distributed:
        # gloo runs on CPUs; NCCL is the fast one between GPUs
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    main_process = rank == 0
    say = print if main_process else (lambda *a, **k: None)

    out = os.path.abspath(args.out)
    # one process per machine makes the copy (on several machines each has its own copy of this folder)
    if local_rank == 0 and not os.path.isfile(os.path.join(out, "checkpoints.json")):
        source = os.path.join(HERE, "run")
        if os.path.exists(out) and os.listdir(out):
            raise UserError("%s is not empty and holds no run (checkpoints.json): choose another --out" % out)
        if not os.path.isfile(os.path.join(source, "checkpoints.json")):
            raise UserError("%s holds no run to copy (checkpoints.json)" % source)
        shutil.copytree(source, out, dirs_exist_ok=True)
        say("copied the exported run into %s" % out)
    if distributed:
        dist.barrier()
    run = RunDirectory(out)
    checkpoint = run.last()
    try:
        with open(os.path.join(checkpoint, "config.json"), encoding="utf-8") as f:
            config_text = f.read()  # copied into each new checkpoint (the old one is deleted once it is replaced)
        config = json.loads(config_text)
    except OSError as e:
        raise UserError("cannot read %s: %s" % (os.path.join(checkpoint, "config.json"), e.strerror or e))
    except ValueError as e:  # not UTF-8, or not JSON
        raise UserError("%s is not valid JSON: %s" % (os.path.join(checkpoint, "config.json"), e))
    saved = read_json(os.path.join(checkpoint, "state.json"))
    check_checkpoint(config, saved, checkpoint)
    settings, state = dict(saved["settings"]), dict(saved["state"])
    if args.max_iters is not None:
        if args.max_iters <= 0:
            raise UserError("--max-iters must be positive, got %d" % args.max_iters)
        settings["maxIters"] = args.max_iters
    if args.time_limit is not None:
        if not args.time_limit > 0:
            raise UserError("--time-limit must be positive, got %s" % args.time_limit)
        settings["timeLimitSeconds"] = args.time_limit
    B, T = settings["batchSize"], config["block_size"]
    if B < world:
        raise UserError("the run's batch has %d rows, fewer than the %d processes: each process needs at least one" % (B, world))

    data_info = read_json(os.path.join(HERE, "data.json"))
    if not isinstance(data_info, dict) or not isinstance(data_info.get("path"), str) or not isinstance(data_info.get("sha256"), (str, type(None))):
        raise UserError("%s is not the export's data.json (the text's path and SHA-256)" % os.path.join(HERE, "data.json"))
    data_path = args.data or data_info["path"]
    text = load_text(data_path, data_info.get("sha256"))
    tokens = torch.tensor(encode(text, config["vocabulary"]), dtype=torch.long)
    n = int(settings["trainFraction"] * len(tokens))  # the course's split: first 90% trains, the rest validates
    splits = {"train": tokens[:n], "val": tokens[n:]}
    for name, d in splits.items():
        if len(d) < T + 1:
            raise UserError("the %s split has %d characters, too few for block size %d" % (name, len(d), T))

    with unreadable_as_user_error(os.path.join(checkpoint, "model.safetensors")):
        net = models.build(config)
        weights = safetensors_io.load(os.path.join(checkpoint, "model.safetensors"))
        check_weights(net, weights, os.path.join(checkpoint, "model.safetensors"))
        net.load_state_dict(models.with_buffers(net, weights), strict=True)
    net.to(device)
    wd = settings["weightDecay"]
    opt_name = settings["optimizer"]
    lr_at = learning_rate_schedule(settings)
    time_limit = settings["timeLimitSeconds"]
    if opt_name == "adamw":
        opt = torch.optim.AdamW(net.parameters(), lr=lr_at(0, 0.0), betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    elif opt_name == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=lr_at(0, 0.0), betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=lr_at(0, 0.0))
    with unreadable_as_user_error(os.path.join(checkpoint, "optimizer.safetensors")):
        opt_steps = load_optimizer(opt, net, os.path.join(checkpoint, "optimizer.safetensors"), opt_name)
    trainable = DistributedDataParallel(net, device_ids=[local_rank] if device.type == "cuda" else None) if distributed else net

    step, evaluated = state["step"], state["evaluatedStep"]
    best = float(state["bestValLoss"]) if state["bestValLoss"] is not None else float("nan")
    best_step = state["bestStep"]
    train_rng, eval_rng = Rng(state["trainRng"]), Rng(state["evalRng"])
    seed = settings["seed"]
    torch.manual_seed((derived_seed(seed, step) + rank) & MASK64)  # dropout: PyTorch's own masks
    metrics = Metrics(os.path.join(out, "metrics.csv"))
    if main_process:
        metrics.truncate_after(evaluated)
    elapsed_before, start = state["elapsedSeconds"], time.time()
    max_iters, eval_interval, eval_iters = settings["maxIters"], settings["evalInterval"], settings["evalIters"]

    # This process's rows of each global batch, in chunks of --micro-batch rows (gradient accumulation).
    lo, hi = rank * B // world, (rank + 1) * B // world
    micro = args.micro_batch if args.micro_batch > 0 else hi - lo
    chunks = [(a, min(a + micro, hi)) for a in range(lo, hi, micro)]
    offsets = torch.arange(T)

    def rows(d, positions):
        ix = torch.tensor(positions, dtype=torch.long)[:, None] + offsets
        return d[ix].to(device), d[ix + 1].to(device)

    @torch.no_grad()
    def estimate_loss(batches):
        """The lecture's estimate_loss over ToyGPT's evaluation batches; the processes share the batches."""
        net.eval()
        out_losses = []
        for name in ("train", "val"):
            d = splits[name]
            total = torch.zeros((), dtype=torch.float64, device=device)
            for i in range(batches):
                positions = [eval_rng.next_int(len(d) - T) for _ in range(B)]  # every process draws, to stay in step
                if i % world == rank:
                    x, y = rows(d, positions)
                    total += net(x, y)[1].double()
            if distributed:
                dist.all_reduce(total)
            out_losses.append(total.item() / batches)
        net.train()
        return out_losses

    def save(is_best, elapsed):
        st = {"step": step, "evaluatedStep": evaluated, "trainRng": signed64(train_rng.state),
              "evalRng": signed64(eval_rng.state), "dropoutRng": signed64(derived_seed(seed, step)),
              "bestValLoss": "NaN" if math.isnan(best) else best, "bestStep": best_step,
              "elapsedSeconds": elapsed}
        body = {"state": st, "settings": settings, "data": os.path.abspath(data_path), "engine": ENGINE,
                "processes": world, "device": device.type}

        def write(directory):
            safetensors_io.write(os.path.join(directory, "model.safetensors"), net.state_dict(),
                                 {"format": "pt", "model": config["model"]})
            with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as f:
                f.write(config_text)
                f.flush()
                os.fsync(f.fileno())
            save_optimizer(opt, net, os.path.join(directory, "optimizer.safetensors"), opt_name, opt_steps)
            with open(os.path.join(directory, "state.json"), "w", encoding="utf-8") as f:
                json.dump(body, f, indent=2)
                f.flush()
                os.fsync(f.fileno())

        path = run.save(step, is_best, best, write)
        say("saved %s" % path)

    say("%s: continuing %s at step %d (budget %s, %.0f s trained so far) with %s, %d process%s, batch %d x %d%s"
        % (ENGINE, out, step, budget(settings), state["elapsedSeconds"], device.type, world, "" if world == 1 else "es", B, T,
           "" if len(chunks) == 1 else " (%d micro-batches of %d rows per process)" % (len(chunks), micro)))
    saved_step, last_train, last_val, tokens_done, t_log = step, float("nan"), float("nan"), 0, time.time()
    first_step, time_up = step, False
    stop = []
    if not distributed:
        # Ctrl-C: finish the step, save a checkpoint and stop (under torchrun, stop with the last checkpoint instead)
        signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    net.train()
    while True:
        if stop:
            break
        elapsed = elapsed_before + time.time() - start
        if distributed and time_limit > 0:
            # every process must stop at the same step: the first process's clock decides
            clock = torch.tensor([elapsed], dtype=torch.float64, device=device)
            dist.broadcast(clock, 0)
            elapsed = clock.item()
        time_up = time_limit > 0 and elapsed >= time_limit
        done = step >= max_iters or time_up
        # ToyGPT's rules for a timed run: no evaluation of the untrained model, and a twentieth of the batches
        # until the end (they draw from the evaluation generator, so the batches after stay ToyGPT's)
        untrained_in_timed_run = step == 0 and time_limit > 0 and not done
        if (step % eval_interval == 0 or done) and evaluated != step and not untrained_in_timed_run:
            last_train, last_val = estimate_loss(max(1, eval_iters // 20) if time_limit > 0 and not done else eval_iters)
            if not (math.isfinite(last_train) and math.isfinite(last_val)):
                raise UserError("the estimated loss became %s at step %d; training stopped" % (last_val, step))
            evaluated = step
            is_best = math.isnan(best) or last_val < best
            if is_best:
                best, best_step = last_val, step
            if main_process:
                logged_lr = lr_at(step, elapsed) if settings["schedule"] == "time" else lr_at(max(0, step - 1), elapsed)
                metrics.append(step, last_train, last_val, logged_lr, elapsed)
            say("step %d: train loss %.4f, val loss %.4f%s" % (step, last_train, last_val, " (best)" if is_best else ""))
            if step > 0:
                if main_process:
                    save(best_step == step, elapsed)  # the time when the step began, as ToyGPT saves it
                saved_step = step
        if done:
            if time_up:
                say("time limit reached after %d steps" % step)
            break
        lr = lr_at(step, elapsed)
        for group in opt.param_groups:
            group["lr"] = lr
        positions = [train_rng.next_int(len(splits["train"]) - T) for _ in range(B)]  # the whole global batch
        opt.zero_grad(set_to_none=True)
        step_loss = 0.0
        for k, (a, b) in enumerate(chunks):
            x, y = rows(splits["train"], positions[a:b])
            # gradients are summed locally and averaged over processes: weighting each chunk's mean loss by
            # (its rows / B) * processes makes the result the gradient of the mean loss over the global batch
            sync = contextlib.nullcontext() if (not distributed or k == len(chunks) - 1) else trainable.no_sync()
            with sync:
                _, loss = trainable(x, y)
                (loss * ((b - a) * world / B)).backward()
            step_loss += loss.item() * (b - a) / B
        if not math.isfinite(step_loss):
            raise UserError("the training loss became %s at step %d; try a lower learning rate" % (step_loss, step))
        if settings["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), settings["gradClip"])
        opt.step()
        opt_steps += 1
        step += 1
        tokens_done += B * T
        if step % args.log_interval == 0:
            now = time.time()
            say("step %d: loss %.4f%s, lr %.3g, %.0f tokens/s"
                % (step, step_loss * B / (hi - lo), " (this process's rows)" if world > 1 else "", lr,
                   tokens_done / max(now - t_log, 1e-9)))
            tokens_done, t_log = 0, now
    if step != saved_step and step > 0 and main_process:
        save(best_step == step, elapsed_before + time.time() - start)
    if stop:
        say("stopped at step %d; continue with the same command" % step)
        sys.exit(130)
    if step == first_step:
        more = ("--time-limit longer than %.0f s (the whole run's time, counted from its start)" % time_limit if time_up
                else "--max-iters above {:,}".format(step))
        say("nothing to train: the run's budget (%s) was spent at step %s (best val loss %.4f); to train on, give %s"
            % (budget(settings), "{:,}".format(step), best, more))
    else:
        say("finished %d steps; train loss %.4f, val loss %.4f (best %.4f); checkpoints in %s"
            % (step, last_train, last_val, best, out))
        say("take it back with: ./toygpt train --out %s --resume (or sample, chat, eval, plot)" % out)
    if distributed:
        # Every checkpoint is on disk. Wait for the other processes, then leave at once: PyTorch 1.13 sometimes
        # hung for good in destroy_process_group or in the interpreter's teardown of gloo's threads (a
        # torchrun of two CPU processes in CI, after its last line). On the CPU the barrier has a time limit,
        # so a process that never arrives ends the run with an error instead of a hang.
        if device.type == "cpu":
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=300))
        else:
            dist.barrier()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except UserError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("stopped; the last checkpoint is kept", file=sys.stderr)
        sys.exit(130)
