#![doc = include_str!("../README.md")]

pub mod bench;
pub mod cli;
pub mod core;
pub mod filter;
pub mod keystore;
pub mod mail;
pub mod mime;
pub mod pem;
pub mod pgp;
pub mod smime;
pub mod x509;
