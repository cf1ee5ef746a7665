#!/usr/bin/python3
"""PyTorch peer of `rbpe bench`: trains the same coordinate-MLP (input M,
hidden layers of width W with ReLU, one sigmoid output, MSE, Adam lr 1e-3)
on a resident batch of pre-embedded inputs, and prints one line per
configuration: `layers batch samples_per_s`. Used by `rbpe bench --peer`;
needs Debian's python3-torch (run with /usr/bin/python3).
    peer_bench_torch.py --layers 1,3 --width 256 --inputs 256
                        --batches 4096,16384 --seconds 1 --threads 2
                        [--device cuda]   (a GPU peer, timed with synchronisation)"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", default="1,3")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--inputs", type=int, default=256)
    ap.add_argument("--batches", default="4096,16384")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else \
        f"{torch.get_num_threads()} threads"
    print(f"# torch {torch.__version__}, {where}", flush=True)
    for h in (int(x) for x in a.layers.split(",")):
        for b in (int(x) for x in a.batches.split(",")):
            sizes = [a.inputs] + [a.width] * h + [1]
            mods = []
            for i in range(len(sizes) - 1):
                mods.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
                mods.append(torch.nn.ReLU() if i < len(sizes) - 2 else torch.nn.Sigmoid())
            net = torch.nn.Sequential(*mods).to(dev)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            x = torch.rand(b, a.inputs, device=dev)
            y = torch.rand(b, 1, device=dev)

            def step():
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.mse_loss(net(x), y)
                loss.backward()
                opt.step()

            for _ in range(2):  # warm-up
                step()
            sync()
            n, t0 = 0, time.perf_counter()
            while n < 3 or time.perf_counter() - t0 < a.seconds:
                step()
                n += 1
                if n % 8 == 0:
                    sync()
            sync()
            el = time.perf_counter() - t0
            print(f"{h} {b} {b * n / el:.1f}", flush=True)


if __name__ == "__main__":
    main()
