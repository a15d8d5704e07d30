#!/usr/bin/env python3
"""DeLong's test for paired AUROCs, as MLstatkit computes it (PyPI; its z and p match R's pROC::roc.test): the
fixture MedAD's DeLong test is checked against. Three cases of 60 images (25 abnormal): two correlated scores,
scores with many ties (rounded to a tenth), and a case where the first score is the better one. For each: the
labels, both scores, AUROC_A, AUROC_B, z = (AUROC_B - AUROC_A) / SE and the two-sided p.
Usage: ../../../.venv-fixtures/bin/python make_delong_fixture.py   (writes delong.json here; commit it)
"""
import json

import numpy as np
from MLstatkit import Delong_test

rng = np.random.default_rng(4)
labels = np.array([1] * 25 + [0] * 35)
rng.shuffle(labels)
base = labels * 0.8 + rng.normal(0, 1, labels.size)
cases = {
    "correlated": (base + rng.normal(0, 0.6, labels.size), base + 0.5 * labels + rng.normal(0, 0.6, labels.size)),
    "ties": (np.round(base + rng.normal(0, 0.5, labels.size), 1), np.round(base, 1)),
    "first_better": (base + 0.9 * labels, base + rng.normal(0, 1.2, labels.size)),
}
out = {"labels": labels.tolist(), "cases": []}
for name, (a, b) in cases.items():
    z, p, _, _, auc_a, auc_b, info = Delong_test(labels, a, b)
    assert info["method"] == "delong"
    out["cases"].append({"name": name, "a": [float(v) for v in a], "b": [float(v) for v in b], "auroc_a": float(auc_a),
                         "auroc_b": float(auc_b), "z": float(z), "p": float(p)})
with open("delong.json", "w") as f:
    json.dump(out, f, indent=1)
