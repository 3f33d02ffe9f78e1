"""The two-joint arm against known behaviour: rest, energy, workspace, closed-form motions."""

import dataclasses
import math

import pytest
import torch

from biaslearn.data.arm import ArmSpec, ArmState, TwoJointArm
from biaslearn.errors import BiaslearnError

CENTRE = torch.tensor([[math.pi / 4, math.pi / 2]])


def _free(**overrides) -> TwoJointArm:
    """No viscosity, no activation filter, no joint limits: a conservative system."""
    spec = ArmSpec(viscosity=(0.0, 0.0, 0.0), activation_ms=0.0, limit_stiffness=0.0, **overrides)
    return TwoJointArm(spec)


@pytest.mark.parametrize("integrator", ["euler", "rk4"])
def test_rest_with_zero_input_stays_at_rest(integrator):
    arm = TwoJointArm(ArmSpec(integrator=integrator))
    q0 = torch.tensor([[0.3, 1.2], [math.pi / 4, math.pi / 2], [1.0, 0.4]])
    states = arm.simulate(arm.rest(q0), torch.zeros(3, 200, 2))
    assert torch.equal(states[-1].q, q0)
    assert torch.equal(states[-1].qd, torch.zeros_like(q0))


def test_constant_torque_moves_in_the_expected_direction():
    arm = TwoJointArm(ArmSpec(activation_ms=0.0))
    q0 = CENTRE.repeat(4, 1)
    torque = torch.tensor([[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.0, -0.5]])
    states = arm.simulate(arm.rest(q0), torque[:, None].repeat(1, 10, 1))
    dq = states[-1].q - q0
    assert dq[0, 0] > 0 and dq[1, 0] < 0 and dq[2, 1] > 0 and dq[3, 1] < 0
    # the hand moves (to first order) along J M⁻¹ τ: check the direction for each torque
    expected = torch.einsum("bij,bj->bi", arm.jacobian(q0), torch.linalg.solve(arm.mass_matrix(q0), torque))
    moved = arm.hand(states[-1].q) - arm.hand(q0)
    cosine = torch.nn.functional.cosine_similarity(moved, expected, dim=1)
    assert bool((cosine > 0.98).all()), cosine


def test_short_time_displacement_matches_half_m_inverse_tau_t_squared():
    """From rest, q(t) = q0 + ½ M(q0)⁻¹ τ t² + O(t³) (Coriolis terms are quadratic in velocity)."""
    arm = _free(integrator="rk4", dt=0.001)
    q0 = CENTRE.repeat(2, 1)
    torque = torch.tensor([[0.3, -0.1], [-0.2, 0.4]])
    steps = 20
    states = arm.simulate(arm.rest(q0), torque[:, None].repeat(1, steps, 1))
    t = steps * 0.001
    expected = 0.5 * torch.linalg.solve(arm.mass_matrix(q0), torque) * t**2
    torch.testing.assert_close(states[-1].q - q0, expected, rtol=0.03, atol=1e-7)


def test_energy_conserved_without_damping_or_torque():
    q0 = torch.tensor([[0.2, 1.0], [1.0, 2.0]])
    qd0 = torch.tensor([[3.0, -4.0], [-2.0, 5.0]])
    for integrator, dt, tol in (("rk4", 0.001, 1e-5), ("rk4", 0.01, 2e-3), ("euler", 0.001, 2e-2)):
        arm = _free(integrator=integrator, dt=dt)
        state = ArmState(q0.double(), qd0.double(), torch.zeros(2, 2, dtype=torch.float64))
        arm.viscosity = arm.viscosity.double()
        e0 = arm.energy(state)
        energies = []
        for _ in range(int(1.0 / dt)):
            state = arm.step(state, torch.zeros(2, 2, dtype=torch.float64))
            energies.append(arm.energy(state))
        drift = (torch.stack(energies) - e0).abs().max() / e0.min()
        assert drift < tol, (integrator, dt, float(drift))


def test_viscosity_dissipates_energy():
    arm = TwoJointArm(ArmSpec(activation_ms=0.0, limit_stiffness=0.0, integrator="rk4"))
    state = ArmState(CENTRE, torch.tensor([[2.0, -1.0]]), torch.zeros(1, 2))
    energies = [arm.energy(state)]
    for _ in range(100):
        state = arm.step(state, torch.zeros(1, 2))
        energies.append(arm.energy(state))
    e = torch.cat(energies)
    assert bool((e[1:] <= e[:-1] + 1e-7).all()) and e[-1] < 0.7 * e[0]


def test_straight_arm_rotates_uniformly():
    """With the elbow straight (q2 = 0) and no damping, the arm spins as one rigid body: q1 = ωt."""
    arm = _free(integrator="rk4")
    state = ArmState(torch.tensor([[0.0, 0.0]]), torch.tensor([[2.0, 0.0]]), torch.zeros(1, 2))
    for _ in range(50):
        state = arm.step(state, torch.zeros(1, 2))
    torch.testing.assert_close(state.q, torch.tensor([[1.0, 0.0]]), atol=1e-5, rtol=0)


def test_workspace_is_the_annulus():
    arm = _free()
    g = torch.Generator().manual_seed(0)
    q = (torch.rand(5000, 2, generator=g) * 2 - 1) * math.pi
    r = arm.hand(q).norm(dim=1)
    inner, outer = arm.workspace()
    assert bool((r >= inner - 1e-6).all()) and bool((r <= outer + 1e-6).all())
    extremes = arm.hand(torch.tensor([[0.3, 0.0], [0.3, math.pi]])).norm(dim=1)
    torch.testing.assert_close(extremes, torch.tensor([outer, inner]), atol=1e-6, rtol=0)


def test_inverse_kinematics_round_trip_and_outside_error():
    arm = TwoJointArm()
    q = torch.tensor([[0.1, 0.5], [math.pi / 4, math.pi / 2], [1.2, 2.0]])
    torch.testing.assert_close(arm.inverse_kinematics(arm.hand(q)), q, atol=1e-5, rtol=0)
    with pytest.raises(BiaslearnError, match="outside the workspace"):
        arm.inverse_kinematics(torch.tensor([[1.0, 0.0]]))


def test_joint_limits_push_back():
    arm = TwoJointArm(ArmSpec(activation_ms=0.0))
    state = arm.rest(torch.tensor([[0.5, 0.3]]))
    for _ in range(100):  # drive the elbow hard into its lower limit (0 rad)
        state = arm.step(state, torch.tensor([[0.0, -2.0]]))
    assert -0.1 < float(state.q[0, 1]) < 0.0


def test_hand_state_matches_kinematics():
    arm = TwoJointArm()
    q, qd = torch.tensor([[0.3, 1.1], [1.0, 0.2]]), torch.tensor([[0.5, -1.0], [2.0, 0.3]])
    position, velocity = arm.hand_state(q, qd)
    torch.testing.assert_close(position, arm.hand(q))
    torch.testing.assert_close(velocity, arm.hand_velocity(q, qd))


def test_gradients_flow_through_the_plant():
    arm = TwoJointArm()
    command = torch.zeros(1, 30, 2, requires_grad=True)
    states = arm.simulate(arm.rest(CENTRE), command)
    arm.hand(states[-1].q)[:, 0].sum().backward()
    assert command.grad is not None and command.grad.abs().sum() > 0


def test_bad_spec_messages():
    with pytest.raises(BiaslearnError, match="integrator: unknown 'rk5'"):
        ArmSpec(integrator="rk5")
    with pytest.raises(BiaslearnError, match="positive semi-definite"):
        ArmSpec(viscosity=(0.01, 0.5, 0.01))
    with pytest.raises(BiaslearnError, match="dt"):
        dataclasses.replace(ArmSpec(), dt=0.5)
