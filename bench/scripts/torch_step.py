#!/usr/bin/env python3
"""Times training steps of Persona's sequence transformer re-implemented in PyTorch (the reference framework).

The model mirrors src/Persona.Core/Models/Sequence/SequenceNetwork.cs and the step of SequenceTrainer.cs:
item table = id embedding + mean of attribute embeddings (tied as the output classes); step input = item + event type
+ time gap embeddings + learned position; input LayerNorm and dropout; pre-LN encoder layers (fused q/k/v projection,
causal attention with attention dropout, exact GELU feed-forward, dropout on both residual branches) with a final
LayerNorm; cross-entropy at every position against N shared uniform negatives (accidental hits masked, as
Ops.SampledSoftmaxCrossEntropy does) or the full catalog when N = 0; gradient clipping at global norm 5; AdamW
lr 2e-3, betas (0.9, 0.98), eps 1e-8, no weight decay.

Batches are the trainer's on Beauty: each user's training window (all but the last two steps, newest 51 at most),
sorted by length and cut into batches of 128, so every batch has the real (batch, seq) shape of an epoch; one epoch's
batches are timed, including building each batch's tensors, after warm-up steps on the longest batches.

Needs Debian's python3-torch (1.13): /usr/bin/python3 bench/scripts/torch_step.py --data ../shared/datasets/amazon-beauty
Prints `RESULT <label> <loss> <steps> <seconds> <ms/step>` for bench/scripts/train_step_ratio.sh.
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PURCHASE_TYPE = 5 + 1  # EventType.Purchase + 1 (0 is padding)
TYPE_COUNT = 9 + 1  # EventType values + 1
GAP_BUCKETS = 32
MAX_ATTRIBUTES = 8  # SequenceVocabulary.MaxAttributesPerItem


def gap_bucket(minutes):
    return min(GAP_BUCKETS - 1, 1 + int(math.log2(1 + max(0.0, minutes))))


class Layer(nn.Module):
    """Pre-LN: h = x + drop(attn(norm1(x))); y = h + drop(ff(norm2(h)))."""

    def __init__(self, d, heads, ff, p):
        super().__init__()
        self.heads, self.p = heads, p
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, ff)
        self.fc2 = nn.Linear(ff, d)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.drop = nn.Dropout(p)
        self.ff_drop = nn.Dropout(p)

    def attention(self, x):  # (batch, seq, d) -> (batch, seq, d)
        b, s, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, dh).permute(2, 0, 3, 1, 4)  # each (b, heads, s, dh)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)  # (b, heads, s, s)
        causal = torch.ones(s, s, dtype=torch.bool).triu(1)
        probs = F.dropout(scores.masked_fill(causal, float("-inf")).softmax(-1), self.p, self.training)
        return self.o((probs @ v).transpose(1, 2).reshape(b, s, d))

    def forward(self, x):
        h = x + self.drop(self.attention(self.norm1(x)))
        return h + self.drop(self.fc2(self.ff_drop(F.gelu(self.fc1(self.norm2(h))))))


class SequenceNetwork(nn.Module):
    def __init__(self, items, attributes, attribute_ids, attribute_scale, d=64, layers=2, heads=1, ff_multiple=4, max_len=50, p=0.5):
        super().__init__()
        self.items = nn.Embedding(items + 1, d, padding_idx=0)
        self.attributes = nn.Embedding(attributes + 1, d, padding_idx=0)
        self.types = nn.Embedding(TYPE_COUNT, d, padding_idx=0)
        self.gaps = nn.Embedding(GAP_BUCKETS, d)
        for e in (self.items, self.attributes, self.types, self.gaps):
            nn.init.normal_(e.weight, 0.0, 0.02)
        for e in (self.items, self.attributes, self.types):
            with torch.no_grad():
                e.weight[0].zero_()
        self.positions = nn.Parameter(torch.randn(max_len, d) * 0.02)
        self.input_norm = nn.LayerNorm(d, eps=1e-5)
        self.input_drop = nn.Dropout(p)
        self.layers = nn.ModuleList(Layer(d, heads, ff_multiple * d, p) for _ in range(layers))
        self.final_norm = nn.LayerNorm(d, eps=1e-5)
        self.register_buffer("attribute_ids", attribute_ids)  # (items + 1, width), 0 = padding
        self.register_buffer("attribute_scale", attribute_scale)  # (items + 1, 1), 1 / count or 0

    def item_table(self):  # (items + 1, d)
        return self.items.weight + self.attributes(self.attribute_ids).sum(1) * self.attribute_scale

    def encode(self, x, types, gaps):  # x (batch, seq, d) -> (batch, seq, d)
        x = x + self.types(types) + self.gaps(gaps) + self.positions[: x.shape[1]]
        x = self.input_drop(self.input_norm(x))
        for layer in self.layers:
            x = layer(x)
        return self.final_norm(x)


def read_beauty(directory):
    """Users' item sequences (S3-Rec file) and the attribute map, indexed as SequenceVocabulary does (ordinal order)."""
    name = "Beauty"
    sequences = {}
    with open(os.path.join(directory, name + ".txt")) as f:
        for line in f:
            tokens = line.split()
            if len(tokens) >= 2:
                sequences[tokens[0]] = tokens[1:]
    with open(os.path.join(directory, name + "_item2attributes.json")) as f:
        attribute_map = json.load(f)
    item_ids = sorted({i for s in sequences.values() for i in s} | set(attribute_map))
    item_index = {item: k + 1 for k, item in enumerate(item_ids)}
    tokens = sorted({f"a:{a}" for attrs in attribute_map.values() for a in attrs})
    token_index = {t: k + 1 for k, t in enumerate(tokens)}
    rows = [[] for _ in range(len(item_ids) + 1)]
    for item, attrs in attribute_map.items():
        row = rows[item_index[item]]
        for a in attrs:
            t = token_index[f"a:{a}"]
            if t not in row and len(row) < MAX_ATTRIBUTES:
                row.append(t)
    width = max(1, max(len(r) for r in rows))
    attribute_ids = torch.zeros(len(rows), width, dtype=torch.long)
    attribute_scale = torch.zeros(len(rows), 1)
    for k, r in enumerate(rows):
        attribute_ids[k, : len(r)] = torch.tensor(r, dtype=torch.long)
        attribute_scale[k, 0] = 1.0 / len(r) if r else 0.0
    users = [[item_index[i] for i in sequences[u]] for u in sorted(sequences)]
    return users, len(item_ids), len(tokens), attribute_ids, attribute_scale


def batches(users, batch_size, max_len):
    """The trainer's windows (all but the last two steps, at most max_len + 1) sorted by length, in batches."""
    windows = []
    for u, items in enumerate(users):
        train = len(items) - 2
        if train < 2:
            continue
        length = min(train, max_len + 1)
        windows.append((length, u, train - length))
    windows.sort()
    return [windows[b : b + batch_size] for b in range(0, len(windows), batch_size)]


def make_batch(users, batch):
    """Right-padded (count, seq) inputs: item indices (0 = padding), types, gaps; targets = class (item − 1) or −1."""
    seq = max(length for length, _, _ in batch) - 1
    count = len(batch)
    items = torch.zeros(count, seq, dtype=torch.long)
    types = torch.zeros(count, seq, dtype=torch.long)
    gaps = torch.zeros(count, seq, dtype=torch.long)
    targets = torch.full((count, seq), -1, dtype=torch.long)
    day = gap_bucket(24 * 60)  # the S3-Rec reader's synthetic timestamps are a day apart
    for i, (length, u, start) in enumerate(batch):
        window = users[u][start : start + length]
        n = length - 1
        items[i, :n] = torch.tensor(window[:-1])
        types[i, :n] = PURCHASE_TYPE
        gaps[i, 1:n] = day
        targets[i, :n] = torch.tensor(window[1:]) - 1
    return items, types, gaps, targets


def step(net, optimizer, params, batch, negatives, item_count, d):
    items, types, gaps, targets = batch
    table = net.item_table()  # (items + 1, d)
    x = F.embedding(items, table, padding_idx=0)  # (batch, seq, d); row 0 is padding (zero, no gradient)
    hidden = net.encode(x, types, gaps).reshape(-1, d)  # (batch·seq, d)
    classes = table[1:]  # (items, d)
    targets = targets.reshape(-1)
    if 0 < negatives < item_count:
        sampled = torch.randint(0, item_count, (negatives,))
        valid = targets >= 0
        positive = (hidden * classes[targets.clamp(min=0)]).sum(-1, keepdim=True)  # (rows, 1)
        negative = hidden @ classes[sampled].t()  # (rows, K)
        negative = negative.masked_fill(sampled[None, :] == targets[:, None], float("-inf"))  # accidental hits
        labels = torch.where(valid, 0, -1)
        loss = F.cross_entropy(torch.cat([positive, negative], 1), labels, ignore_index=-1)
    else:
        loss = F.cross_entropy(hidden @ classes.t(), targets, ignore_index=-1)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 5.0)
    optimizer.step()
    return loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="../shared/datasets/amazon-beauty")
    parser.add_argument("--negatives", type=int, default=8192, help="shared sampled negatives; 0 = full softmax")
    parser.add_argument("--steps", type=int, default=0, help="batches timed, spread over the epoch; 0 = one whole epoch")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--label", default="pytorch", help="name on the RESULT line (say which environment ran it)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    d, max_len = 64, 50
    users, item_count, attribute_count, attribute_ids, attribute_scale = read_beauty(args.data)
    net = SequenceNetwork(item_count, attribute_count, attribute_ids, attribute_scale, d=d, max_len=max_len)
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=2e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.0)
    epoch = batches(users, args.batch, max_len)
    timed = epoch if args.steps <= 0 or args.steps >= len(epoch) else [epoch[(k * len(epoch)) // args.steps] for k in range(args.steps)]
    loss_name = f"sampled-{args.negatives}" if 0 < args.negatives < item_count else "full-softmax"
    print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads; {len(users):,} users, {item_count:,} items, "
          f"{attribute_count:,} attributes; {len(epoch)} batches per epoch, timing {len(timed)}; {loss_name}", flush=True)
    for b in sorted(epoch, key=lambda b: -b[-1][0])[: args.warmup]:  # the longest batches: allocator at full size
        step(net, optimizer, params, make_batch(users, b), args.negatives, item_count, d)
    start = time.perf_counter()
    loss = 0.0
    for b in timed:
        loss += step(net, optimizer, params, make_batch(users, b), args.negatives, item_count, d)
    seconds = time.perf_counter() - start
    print(f"pytorch {loss_name}: {len(timed)} steps in {seconds:.2f} s, {1000 * seconds / len(timed):.1f} ms/step, mean loss {loss / len(timed):.3f}")
    print(f"RESULT {args.label} {loss_name} {len(timed)} {seconds:.3f} {1000 * seconds / len(timed):.2f}", flush=True)


if __name__ == "__main__":
    main()
