"""Packaging for the MXNet Gluon DRAW / Convolutional DRAW reference implementation.

Install with one of the MXNet extras: ``pip install -e .[cpu]`` (CPU wheel with
oneDNN) or ``pip install -e .[gpu]`` (CUDA 11.2 build). Never install both: they
provide the same ``mxnet`` module.
"""
from setuptools import find_packages, setup

# TensorBoard 2.12-2.19 reads mxboard's event files; up to 2.20 it imports pkg_resources,
# which setuptools 82 removed (tensorflow/tensorboard#7003)
TENSORBOARD = ["tensorboard>=2.12,<=2.19", "setuptools<82"]
# the documentation site (mkdocs.yml): pages from docs/, API reference from the docstrings
DOCS = ["mkdocs>=1.6,<2", "mkdocstrings[python]>=0.25"]
# the CUDA runtime, cuBLAS (+cuBLASLt), cuFFT, cuRAND, cuSOLVER, NVRTC, NVTX, NCCL and
# cuDNN 8 (MXNet 1.9.1 links libcudnn.so.8) for CUDA 11, from the package index
# (draw.runtime.CUDA_LIBRARIES; readelf -d libmxnet.so lists what it needs)
CUDA_11_LIBRARIES = ["nvidia-cuda-runtime-cu11", "nvidia-cublas-cu11", "nvidia-cufft-cu11", "nvidia-curand-cu11",
                     "nvidia-cusolver-cu11", "nvidia-cuda-nvrtc-cu11", "nvidia-nvtx-cu11",
                     "nvidia-nccl-cu11", "nvidia-cudnn-cu11>=8,<9"]

setup(
    name="mxnet-draw",
    version="0.1.0",
    description="DRAW and Convolutional DRAW in MXNet Gluon: models, data converters, "
                "trainers, samplers",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["draw", "draw.*", "convdraw", "convdraw.*"]),
    python_requires=">=3.8,<3.12",
    install_requires=[
        # mxnet 1.9.1 breaks with numpy>=1.24 (removed np.bool etc.)
        "numpy>=1.20,<1.24",
        "mxboard==0.1.0",
        # mxboard 0.1.0's generated protobuf code needs protobuf<=3.20.3
        "protobuf<=3.20.3",
        "imageio",
        # the figures' plots (draw/figures.py); the resolver picks a release that works
        # with numpy<1.24 (3.10 on Python 3.11)
        "matplotlib>=3.5",
        "pillow",
        "tqdm",
    ],
    extras_require={
        "cpu": ["mxnet==1.9.1"],
        # the CUDA 11.2 build, and the CUDA 11 libraries its libmxnet.so links but does not
        # bundle (draw.runtime preloads them from site-packages/nvidia); only the NVIDIA
        # driver (libcuda.so.1) must come from the system
        "gpu": ["mxnet-cu112==1.9.1"] + CUDA_11_LIBRARIES,
        "test": ["pytest", "nbclient", "nbformat", "ipykernel"] + TENSORBOARD + DOCS,
        "docs": DOCS,
        "viz": TENSORBOARD,
        # the benchmark's PyTorch peer (examples/peer_torch.py); the CPU wheel is enough:
        # pip install torch --index-url https://download.pytorch.org/whl/cpu
        # (torch pulls a setuptools without pkg_resources, which TensorBoard imports)
        "peer": ["torch>=2.0", "setuptools<82"],
    },
    classifiers=[
        "Programming Language :: Python :: 3.8",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
