//! The `user-info` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::user_info)
}
