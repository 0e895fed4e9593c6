//! The `user-login` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::user_login::ENDPOINT)
}
