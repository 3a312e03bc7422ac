# Frozen CLIP ViT-B/32 image encoder (512-d) as the discriminator's teacher.
# Weights: convert OpenAI's ViT-B-32.pt with MMPretrain's converter
#   python $MMPRETRAIN/tools/model_converters/openai-clip_to_mmpretrain-clip.py \
#       ViT-B-32.pt data/clip/clip-vit-b32_openai_mmpretrain.pth
# (keys visual.* -> VisionTransformer, visual_proj.proj -> the 768->512 projection).
clip_teacher = dict(
    type='FrozenImageEncoder',
    backbone=dict(
        _scope_='mmpretrain',  # scope, not a type prefix: QuickGELU is built
        type='VisionTransformer',
        arch='base',
        img_size=224,  # inside the ViT
        patch_size=32,
        drop_rate=0.,
        pre_norm=True,
        final_norm=True,
        out_type='cls_token',
        layer_cfgs=dict(act_cfg=dict(type='QuickGELU'))),
    # mmkd_ext's copy of MMPretrain's CLIPProjection (same `proj` parameter), which
    # MMPretrain registers only with its multimodal extras (transformers) installed
    projection=dict(type='CLIPImageProjection', in_channels=768, out_channels=512),
    checkpoint='data/clip/clip-vit-b32_openai_mmpretrain.pth',
    ckpt_prefixes=dict(backbone='visual.', projection='visual_proj.'),
    key_hint='model.teacher',
    scale_factor=7,  # 32 -> 224, nearest (gan.md)
    resize_mode='nearest',
    mean=[122.770938, 116.7460125, 104.09373615],
    std=[68.5005327, 66.6321579, 70.32316305],
)
