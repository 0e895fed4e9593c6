//! The `feed` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::feed)
}
