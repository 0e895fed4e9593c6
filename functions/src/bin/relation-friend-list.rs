//! The `relation-friend-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::relation_friend_list)
}
