"""tools/model_converters/vidt_to_mmkd.py: ViDT reference checkpoint -> ours and back."""
import re

import torch

from mmkd_ext.models.detectors.vidt_weights import (REFERENCE_UNUSED,
                                                    convert_vidt_reference)


def test_converter_tool_round_trip(tmp_path, vidt_reference_state, load_tool):
    """The command line (run in-process: its ``main(argv)``) both ways."""
    main = load_tool('tools/model_converters/vidt_to_mmkd.py').main
    ref = vidt_reference_state()
    torch.save(dict(model=ref), tmp_path / 'ref.pth')
    main([str(tmp_path / 'ref.pth'), str(tmp_path / 'ours.pth')])
    ours = torch.load(tmp_path / 'ours.pth', weights_only=True)['state_dict']
    assert set(ours) == set(convert_vidt_reference(ref))
    main(['--reverse', str(tmp_path / 'ours.pth'), str(tmp_path / 'back.pth')])
    back = torch.load(tmp_path / 'back.pth', weights_only=True)['model']
    assert list(back) == list(ref)  # the complete reference layout
    for k, v in back.items():
        if any(re.search(p, k) for p in REFERENCE_UNUSED) or k.startswith('class_embed'):
            continue
        assert torch.equal(v, ref[k]), k
