# ViDT Swin-nano detector (Song et al., ICLR 2022; docs/detection.md): Swin-nano
# with 100 [DET] tokens and RAM, the encoder-free deformable decoder (6 layers) and 7
# prediction layers, COCO's 80 classes. The detector infers what follows from its
# parts: the neck's input widths from the backbone (`neck.in_channels` may be set; it
# is checked) and the backbone's [DET] tokens from `num_queries`. Another Swin size is
# one line: `model = dict(backbone=dict(arch='tiny'))`.
model = dict(
    type='ViDT',
    num_queries=100,  # [DET] tokens = decoder queries
    num_feature_levels=4,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=1),
    backbone=dict(
        type='ViDTSwinTransformer',
        arch='nano',
        cross_attn_stages=(3, ),
        extra_out_channels=256,
        # random init; ImageNet weights (official Swin layout, converted on load):
        # init_cfg=dict(type='Pretrained',
        #               checkpoint='swin_nano_patch4_window7_224.pth')
        init_cfg=None),
    neck=dict(  # in_channels: inferred from the backbone
        type='ChannelMapper',
        kernel_size=1,
        out_channels=256,
        bias=True,
        act_cfg=None,
        norm_cfg=dict(type='GN', num_groups=32),
        num_outs=4),
    decoder=dict(  # DeformableDetrTransformerDecoder
        num_layers=6,
        return_intermediate=True,
        layer_cfg=dict(
            self_attn_cfg=dict(
                embed_dims=256, num_heads=8, dropout=0.1, batch_first=True),
            cross_attn_cfg=dict(
                embed_dims=256,
                num_heads=8,
                num_levels=4,
                num_points=4,
                dropout=0.1,
                batch_first=True),
            ffn_cfg=dict(embed_dims=256, feedforward_channels=1024, ffn_drop=0.1)),
        post_norm_cfg=None),
    bbox_head=dict(
        type='DeformableDETRHead',
        num_classes=80,
        sync_cls_avg_factor=True,
        loss_cls=dict(
            type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=2.0),
        loss_bbox=dict(type='L1Loss', loss_weight=5.0),
        loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[
                dict(type='FocalLossCost', weight=2.0),
                dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
                dict(type='IoUCost', iou_mode='giou', weight=2.0)
            ])),
    test_cfg=dict(max_per_img=100))
