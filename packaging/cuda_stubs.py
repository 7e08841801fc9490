"""Stand-ins for the NVIDIA libraries, so the CUDA build of torch loads without them.

The CPU bundle (``build.py --variant cpu``) leaves out every CUDA library (cuBLAS,
cuDNN, NCCL, cuFFT...: 2.9 GiB). The CUDA build of torch still names some of them
as hard dependencies (``libtorch_cpu.so`` needs ``libcudart.so.13`` and
``libcupti.so.13``; ``libtorch_cuda.so`` needs eleven more), so the dynamic loader
would refuse to load torch at all. For each library a kept binary needs, this
module compiles a small stand-in with the same soname, the same symbol versions
and every symbol the kept binaries import from it: each function returns a CUDA
error code (100, ``cudaErrorNoDevice``, for the runtime), each "error string"
function returns a sentence, each data object is zeros of the real size. torch
then imports and finds no GPU (``torch.cuda.is_available()`` is False), which is
what a CPU bundle means. Needs ``gcc`` and binutils (``nm``, ``readelf``) on the
build machine; Linux only.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

# What a CPU bundle leaves out: NVIDIA's libraries wherever a package ships them.
CUDA_LIB = re.compile(
    r"(^|/)(nvidia/|cuda/bindings|cuda_bindings|cuda/pathfinder)"
    r"|(^|/)lib(cudart|cublas|cublasLt|cudnn\w*|cufft\w*|cufile\w*|cupti|curand|cusolver\w*"
    r"|cusparse|cusparseLt|nccl|nvrtc[\w.-]*|nvJitLink|nvjpeg|nvshmem\w*|nvToolsExt|nvtx\w*"
    r"|nvperf\w*|nvblas|pcsamplingutil|cuda)[.-]"
)
# torch's own libraries that only a GPU uses, loaded on demand (never at import).
CUDA_ONLY_TORCH = ("torch/lib/libtorch_cuda_linalg.so", "torch/lib/libcaffe2_nvrtc.so")

STRING_RESULT = re.compile(r"(Error|Status|Result)(String|Name)$|^ncclGetLastError$")
MESSAGE = "CUDA is not part of this CPU build of FGSM Studio"


def is_cuda_library(dest: str) -> bool:
    dest = dest.replace("\\", "/")
    return bool(CUDA_LIB.search(dest)) or dest in CUDA_ONLY_TORCH


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def needed(lib: Path) -> list[str]:
    """The sonames ``lib`` names as DT_NEEDED."""
    out = _run("readelf", "-d", "-W", str(lib))
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def soname(lib: Path) -> str:
    found = re.search(
        r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", _run("readelf", "-d", "-W", str(lib))
    )
    return found.group(1) if found else lib.name


def imports(lib: Path) -> list[tuple[str, str]]:
    """(symbol, version or '') for each undefined dynamic symbol of ``lib``."""
    out = _run("nm", "-D", "--undefined-only", "--with-symbol-versions", str(lib))
    result = []
    for line in out.splitlines():
        name = line.split()[-1]
        sym, _, ver = name.partition("@")
        result.append((sym, ver.lstrip("@")))
    return result


def exports(lib: Path) -> dict[str, tuple[str, int]]:
    """symbol -> (nm type letter, size) for the defined dynamic symbols of the real ``lib``."""
    out = _run("nm", "-D", "--defined-only", "-S", str(lib))
    table = {}
    for line in out.splitlines():
        parts = line.split()
        name = parts[-1].split("@", 1)[0]  # nm prints "symbol@@version" by default
        if len(parts) == 4:
            table[name] = (parts[2], int(parts[1], 16))
        elif len(parts) == 3:
            table[name] = (parts[1], 0)
    return table


def version_needs(lib: Path) -> dict[str, set[str]]:
    """file -> version names ``lib`` requires from it (readelf -V's Version needs)."""
    out = _run("readelf", "-V", "-W", str(lib))
    section = out.split("Version needs section", 1)
    result: dict[str, set[str]] = {}
    if len(section) < 2:
        return result
    current = None
    for line in section[1].splitlines():
        file_match = re.search(r"File: (\S+)", line)
        if file_match:
            current = file_match.group(1)
            result.setdefault(current, set())
            continue
        name_match = re.search(r"Name: (\S+)", line)
        if name_match and current:
            result[current].add(name_match.group(1))
    return result


def write_stub(real: Path, users: list[Path], out_dir: Path) -> Path:
    """Compile the stand-in for ``real`` holding what ``users`` import from it."""
    name = soname(real)
    table = exports(real)
    versions: dict[str, set[str]] = {}
    for user in users:
        for ver in version_needs(user).get(name, ()):
            versions.setdefault(ver, set())
    symbols: dict[str, str] = {}
    for user in users:
        for sym, ver in imports(user):
            # An unversioned import is this library's only when it is a plain C name:
            # libcufile also exports the C++ runtime (std::logic_error...), which the
            # users take from libstdc++, and a stand-in there would be called instead.
            ours = ver in versions if ver else not sym.startswith("_")
            if sym in table and ours:
                symbols[sym] = ver
    lines = ["/* generated by packaging/cuda_stubs.py: no GPU in this build */"]
    for sym in sorted(symbols):
        kind, size = table[sym]
        if kind.upper() in "BDRVG" or kind == "u":
            lines.append(f"char {sym}[{max(size, 1)}] __attribute__((aligned(16)));")
        elif STRING_RESULT.search(sym):
            lines.append(f'const char *{sym}(void) {{ return "{MESSAGE}"; }}')
        else:
            lines.append(f"long {sym}(void) {{ return 100; }}")
    src = out_dir / f"{name}.c"
    src.write_text("\n".join(lines) + "\n")
    script = out_dir / f"{name}.map"
    nodes = []
    for ver in sorted(versions):
        listed = "".join(f" {s};" for s, v in sorted(symbols.items()) if v == ver)
        nodes.append(f"{ver} {{ global:{listed} }};" if listed else f"{ver} {{ }};")
    # Unversioned symbols stay global without being listed (an anonymous node cannot
    # stand beside named ones), and a library without versions needs no script.
    script.write_text("\n".join(nodes) + "\n")
    target = out_dir / name
    cmd = [
        "gcc",
        "-shared",
        "-fPIC",
        "-O1",
        "-w",
        "-o",
        str(target),
        str(src),
        f"-Wl,-soname,{name}",
    ]
    if versions:
        cmd.append(f"-Wl,--version-script={script}")
    subprocess.run(cmd, check=True)
    return target


def replace_cuda_libraries(binaries: list, out_dir: Path) -> tuple[list, list[str], int]:
    """Drop the CUDA libraries from PyInstaller's ``binaries``; add stand-ins where needed.

    Returns the new list, the names of the stand-ins, and the bytes left out.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = [b for b in binaries if not is_cuda_library(b[0])]
    dropped = {Path(b[0]).name: b for b in binaries if is_cuda_library(b[0])}
    dropped_bytes = sum(Path(b[1]).stat().st_size for b in dropped.values() if Path(b[1]).exists())
    users: dict[str, list[Path]] = {}
    for _dest, src, _kind in kept:
        path = Path(src)
        if not path.name.endswith(".so") and ".so." not in path.name:
            continue
        for lib in needed(path):
            if lib in dropped:
                users.setdefault(lib, []).append(path)
    stubs = []
    for lib, who in sorted(users.items()):
        dest, src, kind = dropped[lib]
        stub = write_stub(Path(src), who, out_dir)
        kept.append((dest, str(stub), kind))
        stubs.append(lib)
    return kept, stubs, dropped_bytes


def strip_torch_libraries(binaries: list, out_dir: Path) -> tuple[list, int]:
    """Copies of torch's own libraries without their static symbol tables.

    ``strip --strip-all`` drops ``.symtab``/``.strtab`` (the linker's and debugger's
    names; the dynamic symbols that loading needs stay): 87 MB of libtorch_cpu.so,
    74 MB of libtorch_cuda.so and 10 MB of libtorch_python.so for torch 2.14.1.
    Returns the new list and the bytes saved.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    result, saved = [], 0
    for dest, src, kind in binaries:
        name = dest.replace("\\", "/")
        if name.startswith("torch/lib/") and re.match(r"lib(torch|c10)\w*\.so$", Path(name).name):
            stripped = out_dir / Path(name).name
            subprocess.run(["strip", "--strip-all", "-o", str(stripped), src], check=True)
            saved += Path(src).stat().st_size - stripped.stat().st_size
            src = str(stripped)
        result.append((dest, src, kind))
    return result, saved
