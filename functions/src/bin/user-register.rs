//! The `user-register` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::user_register::ENDPOINT)
}
