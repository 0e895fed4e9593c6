//! The `user-login` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::user_login)
}
