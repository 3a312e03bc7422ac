"""Write PNG grids of EMA-generator samples during GAN training.

Every ``interval`` training iterations (and after the last one) the hook samples the
model's EMA generator (``model.sample(noise, labels)``) with a fixed noise set and writes
``<work_dir>/<out_dir>/iter_<n>.png`` (rows: classes, ``per_class`` columns), so grids
of different iterations are directly comparable.
"""
import os
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmkd_ext.registry import HOOKS


@HOOKS.register_module()
class GANSampleGridHook(Hook):
    """Args: interval (int), per_class (int) columns, max_classes (int) rows,
    out_dir (str) below the work dir, seed (int) of the fixed noise."""
    priority = 'LOW'

    def __init__(self,
                 interval: int = 1000,
                 per_class: int = 8,
                 max_classes: int = 10,
                 out_dir: str = 'samples',
                 seed: int = 0):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'GANSampleGridHook.interval must be an int >= 1, '
                             f'got {interval!r}')
        self.interval, self.per_class = interval, per_class
        self.max_classes, self.out_dir, self.seed = max_classes, out_dir, seed

    def write_grid(self, runner, tag: str) -> str:
        from torchvision.utils import save_image
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        gen = model.generator_ema
        device = next(gen.parameters()).device
        k = min(self.max_classes, model.num_classes)
        g = torch.Generator().manual_seed(self.seed)
        noise = torch.randn(k * self.per_class, gen.z_dim, generator=g).to(device)
        labels = torch.arange(k).repeat_interleave(self.per_class).to(device)
        was_training = gen.training
        gen.eval()
        imgs = model.sample(noise, labels)
        gen.train(was_training)
        path = osp.join(runner.work_dir, self.out_dir, f'{tag}.png')
        os.makedirs(osp.dirname(path), exist_ok=True)
        save_image((imgs.float().cpu() + 1) / 2, path, nrow=self.per_class, padding=1)
        return path

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.every_n_train_iters(runner, self.interval):
            self.write_grid(runner, f'iter_{runner.iter + 1}')

    def after_train(self, runner):
        self.write_grid(runner, f'iter_{runner.iter}')
