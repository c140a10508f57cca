"""The reconstruction losses reward the right things."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from gansynth_live.fit.losses import reconstruction_losses

A, B = 0.0661371661726, 0.113718730221


def _image(logp: np.ndarray, if_value: float = 0.0) -> tf.Tensor:
    mag = logp * A + B
    return tf.constant(np.stack([mag, np.full_like(mag, if_value)], -1)[None], tf.float32)


def _losses(pred, target, **kw):
    return reconstruction_losses(pred, target, (A, B), floor_db=70.0, if_mask_db=40.0,
                                 weight_linear=1.0, weight_if=1.0, **kw)


def _target() -> np.ndarray:
    logp = np.full((8, 32), -13.8, np.float32)  # silence
    logp[:, 10] = 10.0  # a harmonic line
    logp[:, 20] = 6.0
    return logp


def test_zero_for_a_perfect_prediction():
    target = _image(_target(), 0.3)
    for value in _losses(target, target).values():
        assert abs(float(value)) < 1e-5


def test_a_prediction_under_the_floor_still_gets_pulled_up_where_the_target_is_loud():
    target = _image(_target())
    pred = tf.Variable(_image(np.full((8, 32), -13.8, np.float32)))
    with tf.GradientTape() as tape:
        loss = _losses(pred, target)["mag"]
    grad = tape.gradient(loss, pred).numpy()[0, :, :, 0]
    assert np.all(grad[:, 10] < 0)  # descending the gradient raises the harmonic
    assert np.all(grad[:, 0] == 0)  # silence predicted where silence is: nothing to learn


def test_quiet_differences_below_the_floor_cost_nothing():
    target_logp = _target()
    pred_logp = target_logp.copy()
    pred_logp[:, 0] = 10.0 - 70 * np.log(10) / 10 - 3.0  # still under the floor
    losses = _losses(_image(pred_logp), _image(target_logp))
    assert float(losses["mag"]) == 0.0


def test_if_error_counts_only_on_loud_bins():
    target = _image(_target(), 0.0)
    pred = _image(_target(), 0.0).numpy()
    pred[..., 0, 1] = 0.5  # wrong IF in a silent bin
    assert float(_losses(tf.constant(pred), target)["if"]) == 0.0
    pred[..., 10, 1] = 0.5  # wrong IF on the harmonic
    assert float(_losses(tf.constant(pred), target)["if"]) > 0.0


def test_if_bin_weight_makes_low_bins_cost_more():
    """--if-low-hz: the same IF error costs more on a low harmonic than on a high one."""
    target = _image(_target(), 0.0)
    weight = tf.constant(np.where(np.arange(32) < 15, 8.0, 1.0), tf.float32)
    low = _image(_target(), 0.0).numpy()
    low[..., 10, 1] = 0.2
    high = _image(_target(), 0.0).numpy()
    high[..., 20, 1] = 0.2

    def if_term(pred):
        return float(_losses(tf.constant(pred), target, if_bin_weight=weight)["if"])
    assert if_term(low) == pytest.approx(8.0 * if_term(high), rel=1e-5)
    plain = float(_losses(tf.constant(low), target)["if"])
    assert if_term(low) == pytest.approx(8.0 * plain, rel=1e-5)  # pressure added, not moved


def test_if_bin_weights_follow_one_over_frequency():
    from gansynth_live.fit.settings import FitSettings
    from gansynth_live.fit.trainer import if_bin_weights, model_config
    from gansynth_live.model.melscale import mel_bin_hz

    off = FitSettings(fmap_base=256, fmap_max=16, if_low_hz=0.0)
    assert if_bin_weights(off, model_config(off)) is None
    on = FitSettings(fmap_base=256, fmap_max=16, if_low_hz=500.0)
    w = if_bin_weights(on, model_config(on)).numpy()
    hz = mel_bin_hz(w.size, 16000)
    assert w.min() == 1.0 and w.max() == 16.0
    assert np.all(w[hz >= 500.0] == 1.0)
    mid = (hz > 500.0 / 16) & (hz < 500.0)
    assert np.allclose(w[mid], 500.0 / hz[mid], rtol=1e-5)
    assert np.all(np.diff(w) <= 0)


def test_the_envelope_term_weighs_a_smeared_onset_and_not_a_perfect_one():
    from gansynth_live.fit.losses import envelope_l1

    target = np.full((1, 16, 32), -13.8, np.float32)
    target[:, 1:, 10] = 10.0  # a note that starts at frame 1 at full level, then holds
    ramp = target.copy()
    ramp[:, 1:5, 10] = np.linspace(-5.0, 10.0, 4)  # the same note fading in over 4 frames
    same = float(envelope_l1(tf.constant(target), tf.constant(target), 70.0))
    smeared = float(envelope_l1(tf.constant(ramp), tf.constant(target), 70.0))
    assert same == 0.0 and smeared > 0.5


def test_the_onset_term_sees_a_smeared_attack_in_the_audio_and_its_gradient_flows():
    from gansynth_live.fit.losses import onset_l1

    sr = 16000
    t = np.arange(sr) / sr
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    sharp = tone * np.exp(-3 * t)  # a struck note: full level at once
    smeared = sharp * np.minimum(t / 0.15, 1.0)  # the same, faded in over 150 ms
    target = tf.constant(sharp[None])
    assert float(onset_l1(target, target, sr)) == 0.0
    pred = tf.Variable(smeared[None])
    with tf.GradientTape() as tape:
        loss = onset_l1(pred, target, sr)
    grad = tape.gradient(loss, pred).numpy()
    assert float(loss) > 0.1  # in units of 20 dB: the first 150 ms are well under
    assert np.abs(grad[0, :int(0.1 * sr)]).sum() > 0  # the onset is what it pulls on
