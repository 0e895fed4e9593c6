//! The `relation-follower-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::relation_follower_list)
}
