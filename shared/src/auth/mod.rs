//! Authentication: password hashing ([`password`]) and signed, expiring tokens
//! ([`token`]). Neither a password nor a token is ever logged: [`crate::domain::Password`]
//! and [`token::Token`] hide themselves from `Debug`.

pub mod password;
pub mod token;
