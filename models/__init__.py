"""Reference Keras 3 architectures from the SGN literature.

Each builder takes ``input_shape`` and ``num_classes`` and returns an
uncompiled ``keras.Model`` that outputs logits. Default widths train in
minutes on two CPU cores; ``width`` (a multiplier) and ``depth`` scale them
up. All work on 28x28x1 and 32x32x3 inputs.

    >>> from memsgd import models
    >>> model = models.build("lenet", (28, 28, 1), 10, seed=0)
"""

from memsgd.models._architectures import (
    ARCHITECTURES,
    alexnet,
    build,
    lenet,
    mlp,
    resnet20,
    vgg,
)

__all__ = ["ARCHITECTURES", "alexnet", "build", "lenet", "mlp", "resnet20", "vgg"]
