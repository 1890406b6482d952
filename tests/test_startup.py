"""First contact: TensorFlow's meaningless start-up lines are filtered; everything else on stderr comes through."""

import os
import subprocess
import sys
from pathlib import Path

from seqlab import startup

ROOT = Path(__file__).resolve().parents[1]
NOISE_SAMPLES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1.1 4709 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical",
    "I0000 00:00:1.2 4709 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.",
    "E0000 00:00:1.3 4709 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)",
    "I0000 00:00:1.4 4709 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU "
    "instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
]


def test_keep_drops_exactly_the_known_lines_and_keeps_cuda_lines_when_a_gpu_is_present():
    genuine = ["E0000 something else failed: disk full", "To enable the following, run this"]
    lines = [line + "\n" for line in NOISE_SAMPLES + genuine]
    assert startup.keep(lines, gpu=False) == [g + "\n" for g in genuine]
    with_gpu = startup.keep(lines, gpu=True)
    assert any("cuInit" in line for line in with_gpu) and not any("oneDNN" in line for line in with_gpu)


def test_filtered_stderr_works_on_the_file_descriptor(capfd):
    with startup.filtered_stderr(lambda: False):
        os.write(2, ("\n".join(NOISE_SAMPLES) + "\nreal problem\n").encode())
    err = capfd.readouterr().err
    assert err == "real problem\n"


def test_importing_tensorflow_through_seqlab_prints_none_of_the_start_up_lines():
    code = ("import sys, seqlab, tensorflow as tf; tf.constant(1.0) + 1.0; "
            "print('a genuine line', file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "SEQLAB_TF_STARTUP_LOG")}
    env["PYTHONPATH"] = str(ROOT)
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120).stderr
    assert "a genuine line" in err
    for marker in ("oneDNN", "Could not find cuda drivers", "cuInit", "absl::InitializeLog", "cpu_feature_guard"):
        assert marker not in err, err
