//! The `favorite-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::favorite_list::ENDPOINT)
}
