"""Network architectures in plain torch (no torchvision): MLP, small CNN, CIFAR ResNets, ResNet-50.

Every model unicr builds is ``Sequential(NormalizeLayer, backbone)``: the channel
normalisation is the model's first layer, so noise is added to the raw [0, 1]
image and certified radii are in pixel units (Cohen, Rosenfeld & Kolter 2019,
Sec. 4 and their ``datasets.NormalizeLayer``).  The state-dict keys are those of
Cohen et al.'s released checkpoints: ``1.conv1.weight`` for the CIFAR ResNets and
``1.module.conv1.weight`` (DataParallel) for ImageNet's ResNet-50; the normalisation
constants are not part of the state dict (non-persistent buffers), as in their code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "NormalizeLayer",
    "SmoothableModel",
    "ArchSpec",
    "ARCHS",
    "MLP",
    "SmallCNN",
    "CifarResNet",
    "ResNet50",
]

FASHION_MNIST_MEAN = (0.2860,)
FASHION_MNIST_STD = (0.3530,)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # Cohen et al.'s datasets.py
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class NormalizeLayer(nn.Module):
    """Channel standardisation ``(x - mean) / std`` as the first layer of the model.

    Cohen et al. 2019 (``datasets.NormalizeLayer``): noise is added *before*
    standardising so that radii are certified in the original pixel coordinates.
    ``mean``/``std`` are non-persistent buffers: they follow ``.to(device)`` but are
    not in the state dict (Cohen et al.'s checkpoints do not contain them).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        m = torch.as_tensor(list(mean), dtype=torch.float32)
        s = torch.as_tensor(list(std), dtype=torch.float32)
        if m.ndim != 1 or m.shape != s.shape or m.numel() == 0:
            raise ValueError(
                f"mean and std must be equal-length lists, got {list(mean)}, {list(std)}")
        if not bool(torch.all(torch.isfinite(m))):
            raise ValueError(f"mean must be finite, got {list(mean)}")
        if not bool(torch.all((s > 0) & torch.isfinite(s))):
            raise ValueError(f"std must be finite and > 0, got {list(std)}")
        self.register_buffer("mean", m.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", s.view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


class SmoothableModel(nn.Sequential):
    """``Sequential(NormalizeLayer, backbone)`` that knows its architecture and input shape.

    Attributes ``arch`` (registry name), ``input_shape`` ``(C, H, W)`` and
    ``num_classes`` are used to check data against the model before sampling.
    """

    def __init__(self, normalize: NormalizeLayer, backbone: nn.Module, *, arch: str,
                 input_shape: tuple[int, ...], num_classes: int):
        super().__init__(normalize, backbone)
        self.arch = arch
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)

    @property
    def normalization(self) -> dict[str, list[float]]:
        norm = self[0]
        return {"mean": norm.mean.flatten().tolist(), "std": norm.std.flatten().tolist()}


# ---------------------------------------------------------------------------
# small models for 28x28 inputs
# ---------------------------------------------------------------------------


class MLP(nn.Module):
    """Multi-layer perceptron for 1x28x28 inputs (UniCR's C-OPT base classifier is an MLP,
    Hong et al. 2022 Sec. 5.3)."""

    def __init__(self, num_classes: int = 10, hidden: int = 256, in_features: int = 784):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SmallCNN(nn.Module):
    """Two conv blocks and two dense layers for 1x28x28 inputs (cheap on CPU, ~1.4 MFLOP).

    conv3x3(1->c1) - ReLU - maxpool2 - conv3x3(c1->c2) - ReLU - maxpool2 - dense(7*7*c2 -> h)
    - ReLU - dense(h -> classes).
    """

    def __init__(self, num_classes: int = 10, channels: tuple[int, int] = (16, 32),
                 hidden: int = 128, in_channels: int = 1):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(7 * 7 * c2, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# ---------------------------------------------------------------------------
# CIFAR-10 ResNets (He et al. 2016, Sec. 4.2; the implementation Cohen et al. use)
# ---------------------------------------------------------------------------


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (He et al. 2016, Fig. 2)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class CifarResNet(nn.Module):
    """CIFAR ResNet of depth 6n+2 with basic blocks (He et al. 2016, Sec. 4.2).

    Layer names follow the implementation used by Cohen et al. 2019
    (``archs/cifar_resnet.py``, from bearpaw/pytorch-classification), so their
    ``cifar_resnet110`` checkpoints load unchanged.
    """

    def __init__(self, depth: int = 110, num_classes: int = 10):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(
                f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110 ...), got {depth}")
        n = (depth - 2) // 6
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, n)
        self.layer2 = self._make_layer(32, n, stride=2)
        self.layer3 = self._make_layer(64, n, stride=2)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x)
        return self.fc(torch.flatten(x, 1))


# ---------------------------------------------------------------------------
# ImageNet ResNet-50 (He et al. 2016, Table 1; torchvision's layout and layer names)
# ---------------------------------------------------------------------------


class Bottleneck(nn.Module):
    """1x1 - 3x3 (strided) - 1x1 bottleneck block, expansion 4 (He et al. 2016, Fig. 5;
    stride on the 3x3 convolution as in torchvision, the model Cohen et al. trained)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


class ResNet50(nn.Module):
    """ImageNet ResNet-50 (He et al. 2016, Table 1), torchvision's parameter names."""

    def __init__(self, num_classes: int = 1000, layers: Sequence[int] = (3, 4, 6, 3)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, kernel_size=1,
                          stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        return self.fc(torch.flatten(x, 1))


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchSpec:
    """What an architecture name means: backbone builder, input shape, classes, normalisation."""

    name: str
    builder: Callable[[int], nn.Module]
    input_shape: tuple[int, int, int]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    dataset: str
    description: str


ARCHS: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        ArchSpec("mlp", lambda k: MLP(num_classes=k), (1, 28, 28), 10, FASHION_MNIST_MEAN,
                 FASHION_MNIST_STD, "fashion-mnist", "MLP 784-256-256-k for 28x28 images"),
        ArchSpec("cnn", lambda k: SmallCNN(num_classes=k), (1, 28, 28), 10, FASHION_MNIST_MEAN,
                 FASHION_MNIST_STD, "fashion-mnist",
                 "small CNN (conv16-conv32-dense128) for 28x28 images"),
        ArchSpec("cifar_resnet20", lambda k: CifarResNet(20, k), (3, 32, 32), 10, CIFAR10_MEAN,
                 CIFAR10_STD, "cifar10", "CIFAR ResNet-20 (He et al. 2016)"),
        ArchSpec("cifar_resnet110", lambda k: CifarResNet(110, k), (3, 32, 32), 10, CIFAR10_MEAN,
                 CIFAR10_STD, "cifar10", "CIFAR ResNet-110 (He et al. 2016; Cohen et al. 2019)"),
        ArchSpec("resnet50", lambda k: ResNet50(k), (3, 224, 224), 1000, IMAGENET_MEAN,
                 IMAGENET_STD, "imagenet",
                 "ImageNet ResNet-50 (He et al. 2016; Cohen et al. 2019)"),
    )
}
