//! The crypto core: algorithms, modes, compression, policy, the sign / encrypt / compress / verify pipelines
//! and the verdict every front end returns.
//!
//! The core knows nothing of OpenPGP, CMS or RFC 1421: front ends translate their wire formats into calls on
//! this module. It must not depend on any other sealpost module.

pub mod algorithm;
pub mod cipher;
pub mod compress;
pub mod digest;
pub mod dsa;
pub mod elgamal;
mod eme;
pub mod error;
pub mod known_keys;
pub mod mode;
mod modp;
pub mod pipeline;
pub mod policy;
pub mod rand;
pub mod rsa;
pub mod verdict;

pub use algorithm::{Algorithm, Strength};
pub use error::CoreError;
