"""The course's models in PyTorch, with the parameter names ToyGPT uses in model.safetensors.

Written for ToyGPT's hand-over to PyTorch: `./toygpt export --pytorch DIR` puts this file next to train.py.
The classes follow "Let's build GPT": Head, MultiHeadAttention, FeedFoward (the course's spelling), Block
and GPTLanguageModel, and the bigram model BigramLanguageModel. OneHotMLP and EmbeddingMLP are ToyGPT's two
small networks between the bigram table and the GPT. Every size comes from the checkpoint's config.json
instead of the notebook's global variables.

    import json, model, safetensors_io
    config = json.load(open("run/step-005000/config.json"))
    gpt = model.build(config)
    gpt.load_state_dict(safetensors_io.load("exported.safetensors"), strict=True)
"""
import torch
import torch.nn as nn
from torch.nn import functional as F


class Head(nn.Module):
    """One head of causal self-attention."""

    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        # Not a parameter: the mask that stops a position from looking at later ones. The course registers it
        # as a buffer, so it is part of the state_dict (blocks.N.sa.heads.H.tril).
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)  # (B, T, head_size)
        q = self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5  # (B, T, T): how much each position attends to each
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = F.softmax(wei, dim=-1)
        wei = self.dropout(wei)
        v = self.value(x)
        return wei @ v  # (B, T, head_size)


class MultiHeadAttention(nn.Module):
    """Several heads side by side, then a projection back into the residual stream."""

    def __init__(self, n_embd, num_heads, block_size, dropout):
        super().__init__()
        head_size = n_embd // num_heads
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(num_heads)])
        self.proj = nn.Linear(n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return self.dropout(self.proj(out))


class FeedFoward(nn.Module):
    """A position-wise network: Linear(C, 4C) -> ReLU -> Linear(4C, C) -> dropout."""

    def __init__(self, n_embd, hidden, dropout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, hidden), nn.ReLU(), nn.Linear(hidden, n_embd), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    """Communication (attention) then computation (feed-forward), each with LayerNorm first and a residual."""

    def __init__(self, n_embd, n_head, block_size, dropout, hidden):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout)
        self.ffwd = FeedFoward(n_embd, hidden, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x


class LanguageModel(nn.Module):
    """What the four models share: logits (B, T, vocab) and, given targets, the mean cross-entropy."""

    def loss(self, logits, targets):
        B, T, V = logits.shape
        return F.cross_entropy(logits.view(B * T, V), targets.view(B * T))

    def forward(self, idx, targets=None):
        logits = self.logits(idx)
        return logits, None if targets is None else self.loss(logits, targets)


class GPTLanguageModel(LanguageModel):
    def __init__(self, vocab_size, n_embd, n_head, n_layer, block_size, dropout, hidden=None):
        super().__init__()
        self.block_size = block_size
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout, hidden or 4 * n_embd) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def logits(self, idx):
        B, T = idx.shape
        tok_emb = self.token_embedding_table(idx)  # (B, T, C)
        pos_emb = self.position_embedding_table(torch.arange(T, device=idx.device))  # (T, C)
        x = self.blocks(tok_emb + pos_emb)
        return self.lm_head(self.ln_f(x))  # (B, T, vocab_size)


class BigramLanguageModel(LanguageModel):
    """Row i of a (V, V) table holds the logits of the token after token i."""

    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def logits(self, idx):
        return self.token_embedding_table(idx)


class OneHotMLP(LanguageModel):
    """one-hot(token) -> Linear(V, hidden) -> LeakyReLU -> Linear(hidden, V)."""

    def __init__(self, vocab_size, hidden):
        super().__init__()
        self.vocab_size = vocab_size
        self.fc1 = nn.Linear(vocab_size, hidden)
        self.fc2 = nn.Linear(hidden, vocab_size)

    def logits(self, idx):
        x = F.one_hot(idx, self.vocab_size).float()
        return self.fc2(F.leaky_relu(self.fc1(x), 0.01))


class EmbeddingMLP(LanguageModel):
    """Embedding(V, n_embd) -> Linear(n_embd, hidden) -> LeakyReLU -> Linear(hidden, V)."""

    def __init__(self, vocab_size, n_embd, hidden):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, n_embd)
        self.fc1 = nn.Linear(n_embd, hidden)
        self.fc2 = nn.Linear(hidden, vocab_size)

    def logits(self, idx):
        return self.fc2(F.leaky_relu(self.fc1(self.token_embedding(idx)), 0.01))


def build(config):
    """The model a ToyGPT config.json describes (its "model" field: gpt, bigram, mlp-onehot or mlp-embedding)."""
    kind, V = config["model"], config["vocab_size"]
    if kind == "gpt":
        return GPTLanguageModel(V, config["n_embd"], config["n_head"], config["n_layer"], config["block_size"],
                                config["dropout"], config["hidden"])
    if kind == "bigram":
        return BigramLanguageModel(V)
    if kind == "mlp-onehot":
        return OneHotMLP(V, config["hidden"])
    if kind == "mlp-embedding":
        return EmbeddingMLP(V, config["n_embd"], config["hidden"])
    raise ValueError("unknown model '%s' in config.json" % kind)


def with_buffers(model, state):
    """state plus the model's buffers it lacks (ToyGPT's own checkpoints hold parameters only), for strict loading."""
    full = dict(state)
    for name, buf in model.named_buffers():
        full.setdefault(name, buf.detach().clone())
    return full


def toygpt_parameter_groups(model):
    """ToyGPT's parameters, in its order, as lists of PyTorch parameter names.

    ToyGPT keeps the key (query, value) weights of all heads of a layer in one (C, C) matrix, head h in rows
    [h*head_size, (h+1)*head_size), so that all heads take one matrix product. Its optimizer state (in
    optimizer.safetensors, exp_avg.i and exp_avg_sq.i for ToyGPT's parameter i) therefore holds one buffer per
    stacked matrix: this list says which PyTorch parameters make up parameter i, concatenated in order.
    Every other parameter is its own group, in the same order as in PyTorch.
    """
    groups, index = [], {}
    for name, _ in model.named_parameters():
        parts = name.split(".")
        if len(parts) == 7 and parts[2:4] == ["sa", "heads"]:  # blocks.N.sa.heads.H.key.weight
            stacked = ".".join(parts[:3] + [parts[5]])  # blocks.N.sa.key
        else:
            stacked = name
        if stacked not in index:
            index[stacked] = len(groups)
            groups.append([])
        groups[index[stacked]].append(name)
    return groups
