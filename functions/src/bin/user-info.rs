//! The `user-info` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::user_info::ENDPOINT)
}
