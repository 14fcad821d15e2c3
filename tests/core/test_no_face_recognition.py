"""Nothing in rtcc-wall identifies people: no face or person recognition, anywhere.

The check is three-fold: no source file imports or calls a recognition
library or OpenCV's face/person detectors; no model file ships with the
project; and importing every rtcc_wall module (GUI included) loads none of
those libraries. A configuration cannot ask for it either: the schema forbids
unknown keys, and no key mentions faces or persons.
"""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import rtcc_wall

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "rtcc_wall"

#: Libraries whose purpose is recognising or detecting faces or persons.
RECOGNITION_MODULES = {
    "face_recognition", "dlib", "insightface", "deepface", "facenet_pytorch", "facenet",
    "retinaface", "mtcnn", "mediapipe", "ultralytics", "openface", "arcface", "compreface",
    "torchreid", "fastreid",
}  # fmt: skip
#: OpenCV APIs that detect or recognise faces or people.
CV2_APIS = re.compile(
    r"CascadeClassifier|FaceDetectorYN|FaceRecognizerSF|HOGDescriptor_getDefaultPeopleDetector|"
    r"getDefaultPeopleDetector|haarcascade|lbpcascade|cv2\.face\b|dnn\.readNet"
)
MODEL_SUFFIXES = {".onnx", ".caffemodel", ".pb", ".tflite", ".pt", ".pth", ".dat", ".weights"}


def _sources() -> list[Path]:
    return sorted(
        p
        for d in ("rtcc_wall", "resources", "benchmarks")
        for p in (ROOT / d).rglob("*.py")
        if "_bundled" not in p.parts
    )


def test_no_recognition_imports_or_apis() -> None:
    bad: list[str] = []
    for f in _sources():
        text = f.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text, str(f))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad += [f"{f.relative_to(ROOT)} imports {n}" for n in names
                    if n.split(".")[0] in RECOGNITION_MODULES]  # fmt: skip
        bad += [f"{f.relative_to(ROOT)} uses {m.group(0)}" for m in CV2_APIS.finditer(text)]
    assert not bad, "\n".join(bad)


def test_no_model_files_ship() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    files = [Path(t) for t in tracked] or [p.relative_to(ROOT) for p in ROOT.rglob("*")]
    models = [str(p) for p in files if p.suffix.lower() in MODEL_SUFFIXES]
    assert not models, models


def test_importing_everything_loads_no_recognition_library() -> None:
    mods = [m.name for m in pkgutil.walk_packages(rtcc_wall.__path__, "rtcc_wall.")]
    banned = sorted(RECOGNITION_MODULES)
    code = (
        "import importlib, os, sys\n"
        "os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {banned!r})\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(mods) > 20  # the walk really found the package


def test_config_cannot_ask_for_recognition() -> None:
    from rtcc_wall.config.schema import Config

    def keys(model: type) -> set[str]:
        out: set[str] = set()
        for name, field in getattr(model, "model_fields", {}).items():
            out.add(name)
            ann = field.annotation
            for arg in (*getattr(ann, "__args__", ()), ann):
                if hasattr(arg, "model_fields"):
                    out |= keys(arg)
        return out

    found = keys(Config)
    assert found, "schema walk found no keys"
    assert not [k for k in found if re.search(r"face|person|recogni|biometric", k, re.I)]
