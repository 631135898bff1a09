//! The scheduler: probe devices, measure kernels, cache the profile, plan graphs onto devices and explain the plan.
