"""Run a recognizer's convolutions on channels-last data (NDHWC / NHWC).

On tensor-core GPUs cuDNN's fastest convolution kernels, above all for fp16
and bf16, read channels-last data, so with AMP channels-last can speed 3D
CNNs up; without AMP or on CPU it may not. Whether it helps a given model is
measured with ``tools/benchmark_training.py --channels-last``, not assumed.

:class:`ChannelsLastHook` is the whole lever, one line in a config::

    custom_hooks = [..., dict(type='ChannelsLastHook')]

Before the run it converts every convolution weight (5-D ones to
``torch.channels_last_3d``, 4-D ones to ``torch.channels_last``) in place, so
the optimizer keeps its parameters, and it makes the data preprocessor hand
the recognizer channels-last inputs. MMAction2's preprocessors output
``(N, views, C, T, H, W)`` (NCTHW) or ``(N, views * T, C, H, W)`` (NCHW) and
the recognizers merge the first two dims with ``view``; the inputs are laid
out so that the merged tensor is channels-last, which ``view`` keeps.
"""
import logging
from typing import Any, Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmaction.registry import HOOKS
from torch import nn

#: the spatial dims after the channel dim, per ActionDataPreprocessor format
SPATIAL_DIMS = {'NCHW': 2, 'NCTHW': 3}


def memory_format_of(rank: int) -> torch.memory_format:
    """channels_last_3d for 5-D tensors (Conv3d), channels_last for 4-D (Conv2d)."""
    if rank == 5:
        return torch.channels_last_3d
    if rank == 4:
        return torch.channels_last
    raise ValueError(f'channels-last needs a 4-D or 5-D tensor, got {rank}-D')


def layout_name(tensor: torch.Tensor) -> str:
    """'channels_last_3d', 'channels_last', 'contiguous' or 'strided'."""
    if tensor.dim() in (4, 5) and not tensor.is_contiguous() and tensor.is_contiguous(
            memory_format=memory_format_of(tensor.dim())):
        return 'channels_last_3d' if tensor.dim() == 5 else 'channels_last'
    return 'contiguous' if tensor.is_contiguous() else 'strided'


def conv_layers(model: nn.Module):
    """Every convolution of ``model`` (Conv1d/2d/3d and their transposes)."""
    return [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]


def convert_conv_weights(model: nn.Module) -> int:
    """Lay 4-D/5-D conv weights out channels-last in place; returns how many.

    ``param.data`` is replaced, not the parameter, so an optimizer built
    before keeps updating the same tensors.
    """
    converted = 0
    for conv in conv_layers(model):
        weight = conv.weight
        if weight.dim() in (4, 5):
            fmt = memory_format_of(weight.dim())
            weight.data = weight.data.contiguous(memory_format=fmt)
            if weight.grad is not None:
                weight.grad = weight.grad.contiguous(memory_format=fmt)
            converted += 1
    return converted


def channels_last_inputs(inputs: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    """Put the channel dim (before the last ``spatial_dims`` dims) last in memory.

    The shape is unchanged; leading dims stay outermost, so merging them with
    ``view`` (as the recognizers do) gives a channels-last conv input.
    """
    channel = inputs.dim() - spatial_dims - 1
    if channel < 1:
        raise ValueError(f'inputs of shape {tuple(inputs.shape)} have no batch and '
                         f'channel dims before {spatial_dims} spatial dims')
    order = [d for d in range(inputs.dim()) if d != channel] + [channel]
    back = sorted(range(inputs.dim()), key=order.__getitem__)
    return inputs.permute(order).contiguous().permute(back)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the model's conv weights and its inputs to channels-last.

    Works for training, validation and testing (``before_run`` runs in each).
    The weights are converted after the model is wrapped for distributed
    training: DDP warns once that grad strides do not match its bucket views,
    then rebuilds its buckets after the first iteration in the new layout.
    """

    priority = 'VERY_HIGH'  # before hooks that copy the model (EMA)

    def __init__(self) -> None:
        self._handle: Optional[torch.utils.hooks.RemovableHandle] = None

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        converted = convert_conv_weights(model)
        preprocessor = getattr(model, 'data_preprocessor', None)
        fmt = getattr(preprocessor, 'format_shape', None)
        if fmt not in SPATIAL_DIMS:
            print_log(f'ChannelsLastHook: {converted} conv weights laid out '
                      f'channels-last, not the inputs: the data preprocessor\'s format '
                      f'{fmt!r} is not one of {sorted(SPATIAL_DIMS)}', logger='current',
                      level=logging.WARNING)
            return
        if self._handle is None:
            self._handle = preprocessor.register_forward_hook(self._convert_output)
        print_log(f'ChannelsLastHook: {converted} conv weights and the {fmt} inputs '
                  'laid out channels-last', logger='current')

    def after_run(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _convert_output(self, module: nn.Module, args: Any, output: Any) -> Any:
        """Forward hook of the data preprocessor: its output, inputs channels-last."""
        spatial = SPATIAL_DIMS[module.format_shape]
        if isinstance(output, dict):
            return self._convert_one(output, spatial)
        if isinstance(output, (tuple, list)):
            return type(output)(self._convert_one(o, spatial) for o in output)
        return output

    @staticmethod
    def _convert_one(data: Dict[str, Any], spatial: int) -> Dict[str, Any]:
        inputs = data.get('inputs')
        if isinstance(inputs, torch.Tensor) and inputs.dim() >= spatial + 2:
            data['inputs'] = channels_last_inputs(inputs, spatial)
        return data
