//! The `favorite-action` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::favorite_action)
}
