# BigGAN + DiffAugment on CIFAR-100 (data/cifar100/cifar-100-python).
_base_ = ['./biggan-diffaug_cifar10.py']
num_classes = 100
data_root = 'data/cifar100'
model = dict(
    num_classes=num_classes,
    generator=dict(num_classes=num_classes),
    discriminator=dict(num_classes=num_classes))
train_dataloader = dict(dataset=dict(data_root=data_root, variant='cifar100'))
val_dataloader = dict(dataset=dict(num_classes=num_classes))
val_evaluator = dict(real_dataset=dict(data_root=data_root, variant='cifar100'))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
train_cfg = dict(max_iters=500000)
