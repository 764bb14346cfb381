"""`pip install .`: the Python package stagegraph (python/), its module built by the project's
own CMake build (only the _stagegraph target, tests and benchmarks off). Debian 12 has no
scikit-build-core, so setuptools drives CMake here. Offline, with Debian's numpy and pybind11:

    python3 -m venv --system-site-packages venv
    venv/bin/pip install --no-build-isolation --no-deps .
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
VERSION = re.search(r"project\(stagegraph VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(self.build_temp).resolve() / "cmake"
        configure = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                     f"-DPython3_EXECUTABLE={sys.executable}", "-DSTAGEGRAPH_TESTS=OFF", "-DSTAGEGRAPH_BENCH=OFF"]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_stagegraph", "-j", jobs], check=True)
        built = next((build_dir / "python" / "stagegraph").glob("_stagegraph*.so"))
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(
    name="stagegraph",
    version=VERSION,
    description="Node-graph audio engine for mixing and mastering: YAML graphs, numpy in and out",
    packages=["stagegraph"],
    package_dir={"": "python"},
    ext_modules=[CMakeExtension("stagegraph._stagegraph")],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": "build-pip"}},  # beside, not inside, the CMake build/ folder
    install_requires=["numpy"],
    python_requires=">=3.9",
    zip_safe=False,
)
