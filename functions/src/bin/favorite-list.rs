//! The `favorite-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::favorite_list)
}
