"""FGSM, PGD and the targeted attack against closed forms on softmax regression, in pixel units."""
import torch
import torch.nn.functional as F

from analysis.maths.attacks import (
    DEFAULT_EPSILONS,
    fgsm,
    fgsm_accuracy,
    pgd,
    targeted_attack,
)
from analysis.maths.batching import loss_and_accuracy
from analysis.maths.pixel_models import PixelInputModel, pixel_images
from data_modules import Split
from tests.posthoc_fixtures import linear_softmax, trained_batchnorm_net

MEAN, STD = (0.2,), (0.4,)


def pixel_softmax_regression(seed=0):
    """Softmax regression on 1x3x4 images behind the pixel wrapper, with random pixel inputs."""
    torch.manual_seed(seed)
    model = PixelInputModel(linear_softmax(features=12, classes=4, seed=seed), MEAN, STD).double()
    x = torch.rand(64, 1, 3, 4, dtype=torch.float64)
    y = torch.randint(0, 4, (64,))
    return model, x, y


def closed_form_input_gradient(model, x, y):
    """d CE / dx for logits W (x - m) / s + b: W^T (p - onehot(y)) / s."""
    linear = model.model[1]
    z = (x.flatten(1) - MEAN[0]) / STD[0]
    p = torch.softmax(z @ linear.weight.T + linear.bias, dim=1)
    return ((p - F.one_hot(y, 4)) @ linear.weight / STD[0]).view_as(x)


def test_pixel_model_applies_the_normalisation_inside():
    split = Split(torch.randint(0, 256, (5, 1, 3, 4), dtype=torch.uint8), torch.zeros(5, dtype=torch.long))
    inner = linear_softmax(features=12, classes=4, dtype=torch.float32)
    x = pixel_images(split)
    assert x.min() >= 0 and x.max() <= 1 and torch.equal(x * 255, split.x.float())
    expected = inner((split.x.float() / 255 - MEAN[0]) / STD[0])
    torch.testing.assert_close(PixelInputModel(inner, MEAN, STD)(x), expected)


def test_fgsm_equals_its_closed_form():
    model, x, y = pixel_softmax_regression()
    for eps in (0.05, 0.3):
        expected = (x + eps * closed_form_input_gradient(model, x, y).sign()).clamp(0, 1)
        torch.testing.assert_close(fgsm(model, x, y, eps), expected, rtol=0, atol=1e-12)


def test_fgsm_accuracy_at_eps_zero_is_the_clean_accuracy_and_falls():
    model, x, y = pixel_softmax_regression()
    curve = fgsm_accuracy(model, x, y, batch_size=10)
    assert list(curve) == list(DEFAULT_EPSILONS)
    assert curve[0.0] == loss_and_accuracy(model, x, y)[1]
    assert curve[0.3] < curve[0.0]


def test_fgsm_accuracy_matches_attacking_each_eps_separately():
    model, x, y = pixel_softmax_regression(seed=1)
    curve = fgsm_accuracy(model, x, y, epsilons=(0.1, 0.2), batch_size=7)
    for eps, accuracy in curve.items():
        assert accuracy == loss_and_accuracy(model, fgsm(model, x, y, eps), y)[1]


def test_attacks_stay_in_the_image_range_and_the_budget():
    model, x, y = pixel_softmax_regression()
    x[0].fill_(0.0), x[1].fill_(1.0)  # images at the bounds, where the clamp matters
    eps = 0.25
    images = [fgsm(model, x, y, eps), pgd(model, x, y, eps, step_size=0.05, steps=8, random_start=True,
                                          generator=torch.Generator().manual_seed(0))]
    images.append(targeted_attack(model, x, (y + 1) % 4, eps=eps, steps=20, step_size=0.05).images)
    for adversarial in images:
        assert adversarial.min() >= 0 and adversarial.max() <= 1
        assert (adversarial - x).abs().max() <= eps + 1e-12


def test_one_pgd_step_of_size_eps_is_fgsm_and_more_steps_hurt_at_least_as_much():
    model, x, y = pixel_softmax_regression()
    torch.testing.assert_close(pgd(model, x, y, eps=0.1, step_size=0.1, steps=1), fgsm(model, x, y, 0.1))
    loss_fgsm = F.cross_entropy(model(fgsm(model, x, y, 0.1)), y)
    loss_pgd = F.cross_entropy(model(pgd(model, x, y, eps=0.1, step_size=0.01, steps=30)), y)
    assert loss_pgd >= loss_fgsm - 1e-9


def test_targeted_attack_reaches_the_target_and_stops_there():
    model, x, y = pixel_softmax_regression()
    target = (y + 1) % 4
    result = targeted_attack(model, x, target, eps=0.5, steps=300, step_size=0.01)
    assert result.reached.all() and (result.first_hit >= 0).all()
    assert torch.equal(model(result.images).argmax(1), target)
    assert result.losses.shape == (int(result.first_hit.max()) + 1, len(x))
    moved = result.first_hit > 0  # the others were classified as their target already
    assert moved.any() and (result.losses[-1][moved] < result.losses[0][moved]).all()
    assert torch.equal(result.images[~moved], x[~moved])
    # An image that reached its target stops moving, so its loss stays where it was.
    i = int(torch.where(moved, result.first_hit, 10**9).argmin())
    assert result.first_hit[i] < result.first_hit.max()
    frozen = result.losses[result.first_hit[i]:, i]
    assert torch.equal(frozen, frozen[:1].expand_as(frozen))


def test_targeted_attack_can_keep_minimising_for_all_steps():
    model, x, y = pixel_softmax_regression()
    target = (y + 1) % 4
    stopped = targeted_attack(model, x, target, eps=0.5, steps=300, step_size=0.01)
    kept = targeted_attack(model, x, target, eps=0.5, steps=300, step_size=0.01, stop_at_target=False)
    assert kept.losses.shape == (301, len(x))
    assert torch.equal(kept.first_hit, stopped.first_hit)
    assert (kept.losses[-1] <= stopped.losses[-1] + 1e-12).all()


def test_attacks_leave_a_batchnorm_model_in_its_mode_with_its_statistics():
    model = trained_batchnorm_net(seed=0).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 3, (8,))
    fgsm_accuracy(model, x, y)
    targeted_attack(model, x, (y + 1) % 3, steps=3)
    assert model.training and model.bn.training
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_targeted_attack_stops_when_its_loss_stalls_and_says_so():
    """A budget too small to reach the target: the loss stops improving once the image sits in a
    corner of its box, and the attack ends there instead of running to `steps`."""
    model, x, y = pixel_softmax_regression()
    target = (y + 1) % 4
    tiny = 0.003
    result = targeted_attack(model, x, target, eps=tiny, steps=5000, step_size=0.001, patience=50)
    missed = ~result.reached
    assert missed.any() and result.stalled[missed].all() and not result.stalled[result.reached].any()
    assert (result.stopped_at < 5000).all() and len(result.losses) == int(result.stopped_at.max()) + 1
    for i in torch.where(missed)[0].tolist():  # no gain over the tolerance in its last `patience` iterations
        curve = result.losses[: int(result.stopped_at[i]) + 1, i]
        assert curve[-50:].min() >= curve[:-50].min() * (1 - 1e-3)
    unlimited = targeted_attack(model, x, target, eps=tiny, steps=300, step_size=0.001)
    assert len(unlimited.losses) == 301 and not unlimited.stalled.any()
