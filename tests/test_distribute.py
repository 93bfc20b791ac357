"""Tests of emocore.training.distribute and the split training step: two replicas on two logical CPU devices.

The CPU can be split into logical devices only before TensorFlow runs anything, so each scenario runs in a fresh
Python process (the scripts below) and reports JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).parent

ONE_STEP = r"""
import json, sys
from dataclasses import replace
import numpy as np
from emocore.training import distribute
distribute.split_cpu(2)
import keras
from emocore import models
from emocore.config import ModelConfig, TrainConfig
from emocore.models.base import build_training_model

results = {}
eager = sys.argv[1] == "eager"
for arg in sys.argv[2:]:
    name, _, average = arg.partition("@")  # "emostargan@0.5": with a moving average of the generator's weights
    spec = models.get(name)
    options = spec.parse_options({"generator_average": float(average)}) if average else None
    n_emotions = spec.n_emotions or 3
    model_cfg = replace(ModelConfig().smoke(), n_emotions=n_emotions)
    train_cfg = replace(TrainConfig().smoke(), batch_size=2)
    rng = np.random.default_rng(0)
    crops = [(rng.standard_normal((2, train_cfg.n_frames, model_cfg.mcep_dim)).astype("float32"),
              rng.standard_normal((2, train_cfg.n_frames)).astype("float32")) for _ in range(n_emotions)]
    keras.utils.set_random_seed(0)
    one = build_training_model(spec, model_cfg, train_cfg, options, run_eagerly=eager)
    strategy = distribute.make_strategy("mirrored")
    with strategy.scope():
        two = build_training_model(spec, model_cfg, train_cfg, options, run_eagerly=eager)
        for key, network in one.networks().items():
            two.networks()[key].set_weights(network.get_weights())
    before = [np.asarray(v.numpy()).copy() for v in one.generator_variables]
    logs_one = one.train_on_segments(crops)
    with strategy.scope():
        logs_two = two.train_on_segments(crops)
    weights_one = [np.asarray(v.numpy()) for v in one.generator_variables + one.discriminator_variables]
    weights_two = [np.asarray(v.numpy()) for v in two.generator_variables + two.discriminator_variables]
    moments = []
    for a, b in zip(one.gen_optimizer.variables + one.disc_optimizer.variables,
                    two.gen_optimizer.variables + two.disc_optimizer.variables):
        if "momentum" in a.path:  # Adam's first moment: (1 - beta_1) x the gradient after one step
            a, b = np.asarray(a.numpy()), np.asarray(b.numpy())
            moments.append(float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-30)))
    if average:  # a second step, so the average is not the weights themselves
        one.train_on_segments(crops)
        with strategy.scope():
            two.train_on_segments(crops)
        one.sync_average(), two.sync_average()
        results[arg + " average"] = {
            "diff": max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                        for a, b in zip(one.average.weights, two.average.weights)),
            "from_weights": max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                                for a, b in zip(one.average.weights, one.generator.weights))}
        continue
    results[arg] = {
        "replicas": int(strategy.num_replicas_in_sync),
        "logs_one": logs_one, "logs_two": logs_two,
        "weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(weights_one, weights_two)),
        "moved": max(float(np.max(np.abs(a - b))) for a, b in zip(weights_one, before)),
        "moment_rel_diff": max(moments),
        "learning_rate": float(train_cfg.gen_lr),
    }
print("RESULT " + json.dumps(results))
"""

RESUME = r"""
import json, sys
from pathlib import Path
import numpy as np
from emocore.training import distribute
distribute.split_cpu(2)
sys.path.insert(0, sys.argv[2])
from test_training import FEATURE_CFG, MODEL_CFG, TRAIN_CFG, _domain
from emocore import training

root = Path(sys.argv[1])
domains = (_domain("calm", 140.0, seed=0), _domain("loud", 220.0, seed=10))
whole = training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, root / "whole", progress=False, strategy="mirrored",
                       run_eagerly=True)

def stop(iteration, logs, model):
    if iteration == 3:
        raise KeyboardInterrupt  # as if the machine went away after the step-2 checkpoint

try:
    training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, root / "cut", progress=False, strategy="mirrored",
                   callbacks=[stop], run_eagerly=True)
except KeyboardInterrupt:
    pass
again = training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, root / "cut", resume=True, progress=False,
                       strategy="mirrored", run_eagerly=True)
record = json.loads((root / "cut" / "config.json").read_text())
print("RESULT " + json.dumps({"whole": whole, "again": again, "training": record["training"]}))
"""


def _run(script: str, *args: str):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env,
                          timeout=900)
    if done.returncode != 0:
        raise AssertionError(f"the script failed:\n{done.stderr[-4000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


@pytest.mark.slow
def test_one_step_on_two_replicas_equals_one_device_on_the_same_global_batch():
    results = _run(ONE_STEP, "eager", "cyclegan", "emostargan")
    for name, result in results.items():
        assert result["replicas"] == 2, name
        assert result["logs_two"].keys() == result["logs_one"].keys()
        for key, value in result["logs_one"].items():
            assert result["logs_two"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), (name, key)
        # the gradients agree to float precision (a replica's un-averaged gradient would be off by a factor 2)...
        assert result["moment_rel_diff"] < 1e-4, name
        # ...and so do the weights: Adam's first step moves a weight by up to the learning rate
        assert result["moved"] > 0.5 * result["learning_rate"], name
        assert result["weight_diff"] < 0.25 * result["learning_rate"], name


@pytest.mark.slow
def test_the_generator_average_on_two_replicas_equals_one_devices():
    result = _run(ONE_STEP, "compiled", "emostargan@0.5")["emostargan@0.5 average"]
    assert result["from_weights"] > 1e-5  # two steps: the average is not the last weights...
    assert result["diff"] < 1e-5  # ...and two replicas average as one device does


@pytest.mark.slow
def test_a_two_replica_run_cut_short_and_resumed_ends_as_the_uninterrupted_one(tmp_path):
    from emocore.models.cyclegan import LOSS_NAMES

    result = _run(RESUME, str(tmp_path), str(TESTS))
    assert result["training"]["strategy"] == {"strategy": "MirroredStrategy", "replicas": 2, "xla": False}
    assert result["training"]["resumed"] == [2] and result["training"]["iterations_done"] == 4
    for row, again in zip(result["whole"], result["again"]):
        assert row["iteration"] == again["iteration"]
        for name in LOSS_NAMES:
            assert again[name] == pytest.approx(row[name], rel=1e-5, abs=1e-6), (row["iteration"], name)
    import keras  # noqa: F401 - the weights are compared in this process

    from emocore.config import ModelConfig
    from emocore.models.cyclegan import build_generator

    generator = build_generator(ModelConfig().smoke())
    for file in ("gen_a2b.weights.h5", "gen_b2a.weights.h5"):
        generator.load_weights(tmp_path / "whole" / file)
        whole = [w.copy() for w in generator.get_weights()]
        generator.load_weights(tmp_path / "cut" / file)
        for a, b in zip(whole, generator.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_the_classifier_pretrains_on_two_replicas_as_on_one_device():
    result = _run(CLASSIFIER, str(TESTS))
    one, two = result["one"], result["two"]
    # the loss is the whole batch's mean (not divided by the replicas) and the updates agree
    assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-5)
    assert two["train_accuracy"] == one["train_accuracy"]
    assert result["moved"] > result["learning_rate"]  # three Adam steps moved the weights...
    assert result["weight_diff"] < 0.1 * result["learning_rate"]  # ...alike on one device and on two


def test_a_batch_the_replicas_cannot_share_is_refused_before_training(tmp_path):
    from test_training import FEATURE_CFG, MODEL_CFG, TRAIN_CFG, _domain

    from emocore import training
    from emocore.exceptions import ParameterError

    class TwoReplicas:  # what train() asks of a strategy before it builds anything
        num_replicas_in_sync = 2

    domains = (_domain("calm", 140.0, seed=0), _domain("loud", 220.0, seed=10))
    from dataclasses import replace

    with pytest.raises(ParameterError, match="cannot be split evenly over 2 replicas"):
        training.train(domains, FEATURE_CFG, MODEL_CFG, replace(TRAIN_CFG, batch_size=3), tmp_path, progress=False,
                       strategy=TwoReplicas())
    with pytest.raises(ParameterError, match="XLA"):
        training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, progress=False, strategy=TwoReplicas(),
                       jit_compile=True)

    class Cluster:
        def cluster_spec(self):
            class Spec:
                def as_dict(self):
                    return {"worker": ["a:1", "b:1"]}
            return Spec()

    class TwoWorkers(TwoReplicas):
        cluster_resolver = Cluster()

    with pytest.raises(ParameterError, match="time budget"):  # each worker would stop by its own clock
        training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, progress=False, strategy=TwoWorkers(),
                       max_wall_time_s=60.0)
    assert not any(tmp_path.iterdir())  # nothing written


def test_split_batch_gives_each_replica_its_rows_and_refuses_uneven_batches():
    from emocore.exceptions import ParameterError
    from emocore.models.base import split_batch

    class Context:
        def __init__(self, index):
            self.replica_id_in_sync_group = index

    class Strategy:
        def __init__(self, replicas):
            self.num_replicas_in_sync = replicas

        def experimental_distribute_values_from_function(self, rows):
            return [rows(Context(i)) for i in range(self.num_replicas_in_sync)]

    batch = (np.arange(6), np.arange(6) * 10)
    assert split_batch(Strategy(1), batch) is batch
    shares = split_batch(Strategy(3), batch)
    assert [tuple(a.tolist() for a in share) for share in shares] == [([0, 1], [0, 10]), ([2, 3], [20, 30]),
                                                                      ([4, 5], [40, 50])]
    with pytest.raises(ParameterError, match="cannot be split evenly over 4 replicas"):
        split_batch(Strategy(4), batch)


def test_unknown_strategies_and_a_bad_tf_config_are_named(monkeypatch):
    from emocore.exceptions import ParameterError
    from emocore.training import distribute

    with pytest.raises(ParameterError, match="unknown strategy 'parameter-server'"):
        distribute.make_strategy("parameter-server")
    monkeypatch.setenv("TF_CONFIG", "{cluster: ")
    with pytest.raises(ParameterError, match="TF_CONFIG is not valid JSON"):
        distribute.make_strategy("multi-worker")
    assert distribute.make_strategy("none").num_replicas_in_sync == 1


CLASSIFIER = r"""
import json, sys
from dataclasses import replace
import numpy as np
from emocore.training import distribute
distribute.split_cpu(2)
sys.path.insert(0, sys.argv[1])
import keras
from test_training import MODEL_CFG, TRAIN_CFG, _domain
from emocore.models.classifier import build_emotion_classifier
from emocore.training.classifier import pretrain_classifier

domains = (_domain("calm", 140.0, seed=0), _domain("loud", 220.0, seed=10))
classes = [(d.network_features("train"), d.network_features("validation"), d.stats) for d in domains]
cfg = replace(TRAIN_CFG, classifier_pretrain_steps=3, classifier_batch_size=2)
keras.utils.set_random_seed(0)
one = build_emotion_classifier(MODEL_CFG)
strategy = distribute.make_strategy("mirrored")
with strategy.scope():
    two = build_emotion_classifier(MODEL_CFG)
    two.set_weights(one.get_weights())
result_one = pretrain_classifier(one, classes, cfg, np.random.default_rng(5), run_eagerly=True)
with strategy.scope():
    result_two = pretrain_classifier(two, classes, cfg, np.random.default_rng(5), run_eagerly=True)
print("RESULT " + json.dumps({
    "one": result_one, "two": result_two,
    "weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(one.get_weights(), two.get_weights())),
    "moved": max(float(np.max(np.abs(a - b))) for a, b in zip(one.get_weights(), keras.utils.set_random_seed(0) or
                                                                  build_emotion_classifier(MODEL_CFG).get_weights())),
    "learning_rate": cfg.classifier_lr}))
"""


MULTI_WORKER = r"""
import json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_training import FEATURE_CFG, MODEL_CFG, TRAIN_CFG, _domain
from emocore import training

domains = (_domain("calm", 140.0, seed=0), _domain("loud", 220.0, seed=10))
history = training.train(domains, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, Path(sys.argv[2]), progress=False,
                         strategy=sys.argv[1], run_eagerly=True)
print("RESULT " + json.dumps(history))
"""


def _free_ports(n: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_as_one_device_and_only_the_chief_writes_the_model_folder(tmp_path):
    from emocore.models.cyclegan import LOSS_NAMES

    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen([sys.executable, "-c", MULTI_WORKER, "multi-worker", str(tmp_path / "run"),
                                         str(TESTS)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    histories = []
    for worker in workers:
        out, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, err[-4000:]
        histories.append(json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:]))
    alone = _run(MULTI_WORKER, "none", str(tmp_path / "alone"), str(TESTS))
    for rows in histories:  # each worker, and both together, train as one device on the whole batch
        for row, single in zip(rows, alone):
            for name in LOSS_NAMES:
                assert row[name] == pytest.approx(single[name], rel=1e-4, abs=1e-5), (row["iteration"], name)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["training"]["strategy"]["replicas"] == 2 and record["training"]["status"] == "complete"
    assert (tmp_path / "run" / "gen_a2b.weights.h5").is_file()
    assert (tmp_path / "run" / "workers" / "worker-1" / "checkpoints").is_dir()  # worker 1's own, for its resume
