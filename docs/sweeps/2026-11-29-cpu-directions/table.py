#!/usr/bin/env python3
"""Per-photo summary of `rbpe experiment` results.csv files, as the table in
README.md beside this file: the default learned sigma against the uniform
sigma and RFF, each picked by the validation part (per seed, on val_psnr)
and by the test pixels (oracle: the best mean test PSNR over the seeds).

usage: table.py [--method M] LABEL=RBF.csv[+MORE.csv] ... [--rff RFF.csv[+MORE.csv]]

Each LABEL gives the rbf rows (default, uniform) of one configuration;
--method names the learned recipe whose rows the labels after it compare
(rbf:default until given, e.g. rbf:default+smax=3);
--rff the rows whose RFF candidates every label is compared against (by
default each label's own file). Rows are keyed by (signal, split, layers,
method, param, seed); a later file's row replaces an earlier one's.
"""
import csv
import statistics
import sys


def load(spec):
    rows = {}
    for path in spec.split("+"):
        for r in csv.DictReader(open(path)):
            key = (r["signal"], r["split"], r["hidden_layers"], r["method"],
                   r["param"], r["seed"])
            rows[key] = r
    return rows


def pick(rows, sig, split, layers, method, seeds):
    """Per seed: (val-picked test PSNR, its param); and the oracle param."""
    cand = {}
    for (s, sp, l, m, p, sd), r in rows.items():
        if (s, sp, l, m) == (sig, split, layers, method):
            cand.setdefault(p, {})[sd] = r
    if not cand:
        return None
    full = {p: v for p, v in cand.items() if all(sd in v for sd in seeds)}
    oracle = max(full, key=lambda p: statistics.mean(
        float(full[p][sd]["test_psnr"]) for sd in seeds))
    val = {}
    for sd in seeds:
        best = max(full, key=lambda p: float(full[p][sd]["val_psnr"]))
        val[sd] = (float(full[best][sd]["test_psnr"]), best)
    orc = {sd: float(full[oracle][sd]["test_psnr"]) for sd in seeds}
    return val, oracle, orc


def main(argv):
    labels, rff_spec, method = [], None, "rbf:default"
    it = iter(argv)
    for a in it:
        if a == "--rff":
            rff_spec = next(it)
        elif a == "--method":
            method = next(it)
        else:
            name, spec = a.split("=", 1)
            labels.append((name, spec, method))
    rff_rows = load(rff_spec) if rff_spec else None
    print("| configuration | MLP | split | photo | default | best uniform (oracle) "
          "| uniform, val.-picked | best RFF (oracle, scale) | RFF, val.-picked "
          "| default - val. uniform | default - oracle uniform | default - val. RFF |")
    print("|" + "---|" * 12)
    for name, spec, method in labels:
        rows = load(spec)
        keys = sorted({(k[0], k[1], k[2]) for k, r in rows.items()
                       if r["method"] == method},
                      key=lambda k: (k[2], k[1], k[0]))
        for sig, split, layers in keys:
            seeds = sorted({k[5] for k in rows if k[:4] == (sig, split, layers, method)})
            dflt = {sd: float(rows[(sig, split, layers, method, "0", sd)]["test_psnr"])
                    for sd in seeds}
            uni = pick(rows, sig, split, layers, "rbf_uniform", seeds)
            rr = rff_rows if rff_rows is not None else rows
            rff = pick(rr, sig, split, layers, "rff", seeds)
            m = lambda d: statistics.mean(d.values())
            cells = [name, layers + "x256", split, sig, "%.2f" % m(dflt)]
            diffs = []
            for res in (uni, rff):
                if res is None:
                    cells += ["-", "-"]
                    continue
                val, oracle, orc = res
                cells += ["%.2f (%s)" % (m(orc), oracle),
                          "%.2f" % statistics.mean(v[0] for v in val.values())]
            if uni:
                diffs.append("%+.2f" % statistics.mean(dflt[s] - uni[0][s][0] for s in seeds))
                diffs.append("%+.2f" % statistics.mean(dflt[s] - uni[2][s] for s in seeds))
            else:
                diffs += ["-", "-"]
            diffs.append("%+.2f" % statistics.mean(dflt[s] - rff[0][s][0] for s in seeds)
                         if rff else "-")
            print("| " + " | ".join(cells + diffs) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
