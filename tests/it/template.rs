//! `template.yaml` against the code: every route of the router has its
//! function (at the path without the trailing slash, which `$default` passes on), every Lambda bin is deployed, policies
//! name their actions, and the ingest's S3/DLQ/alarm wiring is in place.

use std::collections::BTreeSet;
use std::path::PathBuf;

use functions::routes::ENDPOINTS;
use serde_norway::Value;

/// The template as the SAM transform sees it: `AWS::LanguageExtensions`'
/// `Fn::ForEach` loops expanded (see [`expand_loops`]).
fn template() -> Value {
    let mut template = raw_template();
    let transforms = format!("{:?}", template["Transform"]);
    assert!(transforms.contains("AWS::LanguageExtensions"), "the loops need the transform: {transforms}");
    for section in ["Conditions", "Resources", "Outputs"] {
        if let Some(mapping) = template[section].as_mapping() {
            template[section] = Value::Mapping(expand_loops(mapping));
        }
    }
    template
}

/// template.yaml as written, its YAML merge keys (`<<: *AppVariables`)
/// applied as `sam build` applies them.
fn raw_template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let mut template: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    template.apply_merge().unwrap();
    template
}

/// `mapping` with each `Fn::ForEach::Name: [Identifier, [items], {OutputKey: OutputValue}]`
/// replaced by one copy of the fragment per item, `${Identifier}` (and `&{Identifier}`,
/// `!Ref Identifier`) replaced by the item in keys and values, as CloudFormation's
/// `AWS::LanguageExtensions` transform does (the rehearsal's stage 1 applies it too, and
/// checks the result on the emulator). A key made twice is a bug of the template.
fn expand_loops(mapping: &serde_norway::Mapping) -> serde_norway::Mapping {
    let mut expanded = serde_norway::Mapping::new();
    let mut put = |key: Value, value: Value| {
        let shown = format!("{key:?}");
        assert!(expanded.insert(key, value).is_none(), "{shown} is made twice");
    };
    for (key, value) in mapping {
        if !key.as_str().is_some_and(|key| key.starts_with("Fn::ForEach::")) {
            put(key.clone(), value.clone());
            continue;
        }
        let [identifier, collection, fragment] = value.as_sequence().unwrap().as_slice() else {
            panic!("{key:?}: not [Identifier, Collection, Fragment]")
        };
        let identifier = identifier.as_str().unwrap();
        for item in collection.as_sequence().unwrap_or_else(|| panic!("{key:?}: the collection is not a list")) {
            let item = item.as_str().unwrap();
            let copy = substitute(fragment, identifier, item);
            for (out_key, out_value) in expand_loops(copy.as_mapping().unwrap()) {
                put(out_key, out_value);
            }
        }
    }
    expanded
}

fn substitute(value: &Value, identifier: &str, item: &str) -> Value {
    match value {
        Value::String(text) => {
            let alphanumeric: String = item.chars().filter(char::is_ascii_alphanumeric).collect();
            Value::String(
                text.replace(&format!("${{{identifier}}}"), item).replace(&format!("&{{{identifier}}}"), &alphanumeric),
            )
        }
        Value::Tagged(tagged) if tagged.tag == "Ref" && tagged.value.as_str() == Some(identifier) => {
            Value::String(item.to_owned())
        }
        Value::Tagged(tagged) => Value::Tagged(Box::new(serde_norway::value::TaggedValue {
            tag: tagged.tag.clone(),
            value: substitute(&tagged.value, identifier, item),
        })),
        Value::Mapping(mapping)
            if mapping.len() == 1 && mapping.get("Ref").and_then(Value::as_str) == Some(identifier) =>
        {
            Value::String(item.to_owned())
        }
        Value::Mapping(mapping) => Value::Mapping(
            mapping
                .iter()
                .map(|(key, inner)| (substitute(key, identifier, item), substitute(inner, identifier, item)))
                .collect(),
        ),
        Value::Sequence(values) => {
            Value::Sequence(values.iter().map(|inner| substitute(inner, identifier, item)).collect())
        }
        other => other.clone(),
    }
}

/// The loops make what was written out one by one: one log group and one Errors
/// alarm per function, a Duration alarm per API function, under the same logical ids.
#[test]
fn the_loops_make_a_log_group_and_alarms_per_function_under_their_own_logical_ids() {
    let raw = raw_template();
    let raw_resources = raw["Resources"].as_mapping().unwrap();
    assert!(raw_resources.keys().any(|key| key.as_str().is_some_and(|key| key.starts_with("Fn::ForEach::"))));
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    assert!(!resources.keys().any(|key| key.as_str().is_some_and(|key| key.starts_with("Fn::ForEach::"))));
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let name = id.strip_suffix("Function").unwrap();
        let log_group = &resources[format!("{name}LogGroup").as_str()];
        assert_eq!(log_group["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{id}");
        assert_eq!(sub_text(&log_group["Properties"]["LogGroupName"]), format!("/aws/lambda/${{{id}}}"));
        let errors = &resources[format!("{name}ErrorsAlarm").as_str()];
        assert_eq!(function_watched(&errors["Properties"]["Dimensions"][0]["Value"]), Some(id.as_str()));
        if is_api_function(&function) {
            let duration = &resources[format!("{name}DurationAlarm").as_str()];
            assert_eq!(function_watched(&duration["Properties"]["Dimensions"][0]["Value"]), Some(id.as_str()));
        }
    }
}

/// The functions as (binary, resource).
fn functions(template: &Value) -> Vec<(String, Value)> {
    let resources = template["Resources"].as_mapping().unwrap();
    resources
        .values()
        .filter(|resource| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|resource| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
            (binary, resource.clone())
        })
        .collect()
}

/// The (method, path) pairs of a function's HttpApi events.
fn routes(function: &Value) -> BTreeSet<(String, String)> {
    let Some(events) = function["Properties"]["Events"].as_mapping() else { return BTreeSet::new() };
    events
        .values()
        .filter(|event| event["Type"].as_str() == Some("HttpApi"))
        .map(|event| {
            let properties = &event["Properties"];
            (properties["Method"].as_str().unwrap().to_owned(), properties["Path"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// Each endpoint has one route, at its path without the trailing slash: an
/// HTTP API route key may not end in `/` (API Gateway drops such a route at
/// import without an error), so the slash spelling the stock client uses is
/// served through `$default` when API Gateway does not match it to the route
/// (see the next test).
#[test]
fn every_route_has_its_function_at_its_path_without_the_trailing_slash() {
    let template = template();
    let functions = functions(&template);
    for endpoint in ENDPOINTS {
        let (_, function) = functions
            .iter()
            .find(|(binary, _)| binary == endpoint.name)
            .unwrap_or_else(|| panic!("no function builds {}", endpoint.name));
        let expected: BTreeSet<(String, String)> =
            [(endpoint.method.as_str().to_owned(), endpoint.path.trim_end_matches('/').to_owned())].into();
        assert_eq!(routes(function), expected, "{}", endpoint.name);
    }
    for (binary, function) in &functions {
        for (_, path) in routes(function) {
            assert!(!path.ends_with('/'), "{binary}: route {path} ends in /, which API Gateway drops");
        }
    }
    let fallback = functions.iter().find(|(binary, _)| binary == "route-fallback").unwrap();
    assert!(routes(&fallback.1).contains(&("ANY".to_owned(), "$default".to_owned())));
}

/// `route-fallback` knows every endpoint's function and may invoke exactly
/// those: a contract request that reaches `$default` is passed on.
#[test]
fn the_fallback_passes_every_endpoint_on_to_its_function_and_may_invoke_only_those() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let id_of = |binary: &str| {
        resources
            .iter()
            .find(|(_, resource)| resource["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
            .map(|(id, _)| id.as_str().unwrap().to_owned())
            .unwrap()
    };
    let fallback = &template["Resources"][id_of("route-fallback").as_str()]["Properties"];
    let joined = &fallback["Environment"]["Variables"]["DOUYIN_ROUTE_FUNCTIONS"];
    let Value::Tagged(join) = joined else { panic!("DOUYIN_ROUTE_FUNCTIONS is not a !Join: {joined:?}") };
    assert_eq!(join.tag.to_string(), "!Join");
    let entries: BTreeSet<String> = join.value[1]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|entry| match entry {
            Value::Tagged(sub) if sub.tag == "!Sub" => sub.value.as_str().unwrap().to_owned(),
            other => panic!("not a !Sub: {other:?}"),
        })
        .collect();
    let expected: BTreeSet<String> =
        ENDPOINTS.iter().map(|endpoint| format!("{}=${{{}}}", endpoint.name, id_of(endpoint.name))).collect();
    assert_eq!(entries, expected);
    let statements = fallback["Policies"][0]["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Action"].as_str(), Some("lambda:InvokeFunction"));
    let targets: BTreeSet<String> = statements[0]["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|arn| match arn {
            Value::Tagged(get_att) if get_att.tag == "!GetAtt" => get_att.value.as_str().unwrap().to_owned(),
            other => panic!("not a !GetAtt: {other:?}"),
        })
        .collect();
    let expected: BTreeSet<String> = ENDPOINTS.iter().map(|endpoint| format!("{}.Arn", id_of(endpoint.name))).collect();
    assert_eq!(targets, expected);
}

#[test]
fn every_lambda_bin_is_deployed() {
    let deployed: BTreeSet<String> = functions(&template()).into_iter().map(|(binary, _)| binary).collect();
    let bins = std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/src/bin")).unwrap();
    for entry in bins {
        let name = entry.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_owned();
        if name != "douyin-local" {
            assert!(deployed.contains(&name), "{name} is not in template.yaml");
        }
    }
}

#[test]
fn policies_name_their_actions_and_never_grant_data_on_everything() {
    for (binary, function) in functions(&template()) {
        let Some(policies) = function["Properties"]["Policies"].as_sequence() else { continue };
        for policy in policies {
            for statement in policy["Statement"].as_sequence().unwrap() {
                let actions: Vec<&str> = match &statement["Action"] {
                    Value::String(action) => vec![action.as_str()],
                    Value::Sequence(actions) => actions.iter().map(|a| a.as_str().unwrap()).collect(),
                    other => panic!("{binary}: unexpected Action {other:?}"),
                };
                for action in &actions {
                    assert!(!action.contains('*'), "{binary}: wildcard action {action}");
                }
                assert_ne!(statement["Resource"].as_str(), Some("*"), "{binary}: resource *");
            }
        }
    }
}

#[test]
fn uploads_trigger_the_ingest_with_a_dead_letter_queue_and_an_alarm() {
    let template = template();
    let functions = functions(&template);
    let (_, ingest) = functions.iter().find(|(binary, _)| binary == "video-ingest").unwrap();
    let events = ingest["Properties"]["Events"].as_mapping().unwrap();
    let s3 = events.values().find(|event| event["Type"].as_str() == Some("S3")).expect("an S3 event");
    assert_eq!(s3["Properties"]["Events"].as_str(), Some("s3:ObjectCreated:*"));
    let rules = format!("{:?}", s3["Properties"]["Filter"]);
    assert!(rules.contains("uploads/"), "{rules}");
    let on_failure = &ingest["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"].as_str(), Some("SQS"));
    let alarm = &template["Resources"]["IngestDeadLetterAlarm"];
    assert_eq!(alarm["Type"].as_str(), Some("AWS::CloudWatch::Alarm"));
}

/// A failed ingest can be replayed from its dead-letter queue for as long as
/// the queue keeps it, so the upload's record (whose TTL the code sets) must
/// outlive the longest path to the queue's last day: the client's PUT up to
/// the longest upload link after the record is made, Lambda's retries of the
/// event for up to its maximum event age, then the queue's retention.
#[test]
fn the_upload_record_outlives_a_failed_ingest_in_its_dead_letter_queue() {
    let template = template();
    let resources = &template["Resources"];
    let retention = resources["IngestDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"].as_u64().unwrap();
    let functions = functions(&template);
    let (_, ingest) = functions.iter().find(|(binary, _)| binary == "video-ingest").unwrap();
    let invoke = &ingest["Properties"]["EventInvokeConfig"];
    let event_age = invoke["MaximumEventAgeInSeconds"].as_u64().expect("the event age is stated, not Lambda's default");
    let on_failure = format!("{:?}", invoke["DestinationConfig"]["OnFailure"]["Destination"]);
    assert!(on_failure.contains("IngestDeadLetterQueue"), "{on_failure}");
    let upload_link = template["Parameters"]["UploadUrlTtlSeconds"]["MaxValue"].as_u64().unwrap();
    assert!(upload_link <= shared::config::Config::MAX_UPLOAD_URL_TTL.as_secs());
    let longest_wait = upload_link + event_age + retention;
    let record = shared::videos::UPLOAD_RECORD_TTL.as_secs();
    assert!(
        record >= longest_wait,
        "upload records expire after {record} s, but a failed ingest can wait {longest_wait} s to be replayed \
         ({upload_link} s upload link + {event_age} s of retries + {retention} s in the dead-letter queue)"
    );
}

/// The resources (as text: most are `!Sub` strings) of every statement of
/// `function`'s policies that allows `action`.
fn grants(function: &Value, action: &str) -> Vec<String> {
    let mut resources = Vec::new();
    for policy in function["Properties"]["Policies"].as_sequence().into_iter().flatten() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            let allows = match &statement["Action"] {
                Value::String(one) => one == action,
                Value::Sequence(many) => many.iter().any(|a| a.as_str() == Some(action)),
                _ => false,
            };
            if allows {
                match &statement["Resource"] {
                    Value::Sequence(many) => resources.extend(many.iter().map(|r| format!("{r:?}"))),
                    one => resources.push(format!("{one:?}")),
                }
            }
        }
    }
    resources
}

fn on_prefix(resources: &[String], prefix: &str) -> bool {
    resources.iter().any(|resource| resource.contains(&format!("/{prefix}*")))
}

#[test]
fn published_media_lives_where_only_the_ingest_writes_and_stale_uploads_expire() {
    use shared::videos::{UPLOAD_MAX_AGE, UPLOAD_PREFIX, cover_key, play_key};
    let template = template();
    let functions = functions(&template);
    let function = |name: &str| functions.iter().find(|(binary, _)| binary == name).unwrap().1.clone();
    let prefix_of = |key: &str| format!("{}/", key.split('/').next().unwrap());
    let (videos, covers) = (prefix_of(&play_key(1, b"v")), prefix_of(&cover_key(1, b"v")));
    assert!(videos != UPLOAD_PREFIX && covers != UPLOAD_PREFIX);

    // The ingest is triggered by uploads/ exactly, writes only the published
    // prefixes (a write under uploads/ would trigger it again) and deletes its own.
    let ingest = function("video-ingest");
    let s3 = ingest["Properties"]["Events"].as_mapping().unwrap().values().find(|e| e["Type"].as_str() == Some("S3"));
    let rules = s3.unwrap()["Properties"]["Filter"]["S3Key"]["Rules"].as_sequence().unwrap().clone();
    assert_eq!(rules.len(), 1);
    assert_eq!((rules[0]["Name"].as_str(), rules[0]["Value"].as_str()), (Some("prefix"), Some(UPLOAD_PREFIX)));
    let writes = grants(&ingest, "s3:PutObject");
    assert!(on_prefix(&writes, &videos) && on_prefix(&writes, &covers), "{writes:?}");
    assert!(!on_prefix(&writes, UPLOAD_PREFIX), "the ingest may write under {UPLOAD_PREFIX}: {writes:?}");
    let deletes = grants(&ingest, "s3:DeleteObject");
    for prefix in [UPLOAD_PREFIX, &videos, &covers] {
        assert!(on_prefix(&deletes, prefix), "{prefix}: {deletes:?}");
    }
    // The upload URL (signed with publish-upload's role) can write uploads/ only,
    // with the lifecycle tag.
    let upload = function("publish-upload");
    for action in ["s3:PutObject", "s3:PutObjectTagging"] {
        let granted = grants(&upload, action);
        assert_eq!(granted.len(), 1, "{action}: {granted:?}");
        assert!(on_prefix(&granted, UPLOAD_PREFIX), "{action}: {granted:?}");
    }

    // Unclaimed uploads expire (the objects carrying the tag every URL signs),
    // incomplete multipart uploads are aborted.
    let (tag_key, tag_value) = shared::media::UPLOAD_TAG;
    let lifecycle = template["Resources"]["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .expect("a lifecycle on the media bucket")
        .clone();
    let expiry = lifecycle.iter().find(|rule| rule["ExpirationInDays"].as_u64().is_some()).expect("an expiry rule");
    assert_eq!(expiry["Status"].as_str(), Some("Enabled"));
    assert_eq!(expiry["Prefix"].as_str(), Some(UPLOAD_PREFIX));
    let tags = expiry["TagFilters"].as_sequence().unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!((tags[0]["Key"].as_str(), tags[0]["Value"].as_str()), (Some(tag_key), Some(tag_value)));
    assert_eq!(expiry["ExpirationInDays"].as_u64(), Some(UPLOAD_MAX_AGE.as_secs() / 86_400));
    let abort = lifecycle.iter().find(|rule| !rule["AbortIncompleteMultipartUpload"].is_null()).expect("an abort rule");
    assert_eq!(abort["Prefix"].as_str(), Some(UPLOAD_PREFIX));
}

#[test]
fn the_table_in_the_template_matches_the_data_model() {
    use shared::store::model;
    let table = &template()["Resources"]["Table"]["Properties"];
    let text = format!("{table:?}");
    for name in [
        model::PK,
        model::SK,
        model::GSI1,
        model::GSI1_PK,
        model::GSI1_SK,
        model::GSI2,
        model::GSI2_PK,
        model::GSI2_SK,
        model::TTL,
    ] {
        assert!(text.contains(&format!("\"{name}\"")), "{name} missing from the template's table");
    }
}

#[test]
fn chat_queue_dead_letters_alarm_and_partial_batch_responses_are_wired() {
    let template = template();
    let resources = &template["Resources"];
    let queue = &resources["ChatQueue"]["Properties"];
    assert_eq!(queue["FifoQueue"].as_bool(), Some(true));
    let max_receives = queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap();
    assert!(max_receives >= 5, "redrive after {max_receives} receives");
    assert_eq!(resources["ChatDeadLetterQueue"]["Properties"]["FifoQueue"].as_bool(), Some(true));
    let alarm = format!("{:?}", resources["ChatDeadLetterAlarm"]["Properties"]);
    assert!(alarm.contains("ChatDeadLetterQueue") && alarm.contains("ApproximateNumberOfMessagesVisible"), "{alarm}");

    let functions = functions(&template);
    let (_, consumer) = functions.iter().find(|(binary, _)| binary == "message-consumer").unwrap();
    let timeout = consumer["Properties"]["Timeout"]
        .as_u64()
        .or_else(|| template["Globals"]["Function"]["Timeout"].as_u64())
        .unwrap();
    let visibility = queue["VisibilityTimeout"].as_u64().unwrap();
    assert!(visibility >= 6 * timeout, "visibility {visibility} s < 6 × {timeout} s");
    let events = consumer["Properties"]["Events"].as_mapping().unwrap();
    let sqs = events.values().find(|event| event["Type"].as_str() == Some("SQS")).expect("an SQS event");
    let responses = format!("{:?}", sqs["Properties"]["FunctionResponseTypes"]);
    assert!(responses.contains("ReportBatchItemFailures"), "{responses}");
    assert!(format!("{:?}", sqs["Properties"]["Queue"]).contains("ChatQueue"));
}

/// The chat queue and its dead-letter queue are high-throughput FIFO queues:
/// deduplication and throughput per message group, which fits one group per
/// conversation and message ids as deduplication ids (`shared::chat`).
#[test]
fn chat_queues_are_high_throughput_fifo_queues() {
    let template = template();
    for queue in ["ChatQueue", "ChatDeadLetterQueue"] {
        let properties = &template["Resources"][queue]["Properties"];
        assert_eq!(properties["FifoQueue"].as_bool(), Some(true), "{queue}");
        assert_eq!(properties["DeduplicationScope"].as_str(), Some("messageGroup"), "{queue}");
        assert_eq!(properties["FifoThroughputLimit"].as_str(), Some("perMessageGroupId"), "{queue}");
    }
}

// ---------------------------------------------------------------- operations
// Tracing, alarms, the dashboard, parameters, environment and samconfig.

/// The resources as (logical id, resource).
fn resources(template: &Value) -> Vec<(String, Value)> {
    let resources = template["Resources"].as_mapping().unwrap();
    resources.iter().map(|(id, resource)| (id.as_str().unwrap().to_owned(), resource.clone())).collect()
}

fn of_type(template: &Value, kind: &str) -> Vec<(String, Value)> {
    resources(template).into_iter().filter(|(_, resource)| resource["Type"].as_str() == Some(kind)).collect()
}

/// The string inside `!Ref X` (or `{Ref: X}`), if `value` is one.
fn reference(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        Value::Mapping(mapping) if mapping.len() == 1 => mapping.get("Ref").and_then(Value::as_str),
        _ => None,
    }
}

/// The resource a FunctionName dimension names: `!Ref X`, or `!Sub "${X}"` (as the
/// loops write it: an identifier inside `!Ref` is left alone by cfn-lint's expansion).
fn function_watched(value: &Value) -> Option<&str> {
    if let Some(name) = reference(value) {
        return Some(name);
    }
    match value {
        Value::Tagged(tagged) if tagged.tag == "Sub" => {
            tagged.value.as_str()?.strip_prefix("${")?.strip_suffix('}').filter(|name| !name.contains(['$', '.', '}']))
        }
        _ => None,
    }
}

/// Every `!Ref` target and every `${...}` of a `!Sub` anywhere under `value`.
fn names_used(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => {
            names.insert(tagged.value.as_str().unwrap().to_owned());
        }
        Value::Tagged(tagged) if tagged.tag == "Sub" => {
            let text = match &tagged.value {
                Value::Sequence(parts) => parts[0].as_str().unwrap(),
                other => other.as_str().unwrap(),
            };
            names.extend(placeholders(text));
            names_used(&tagged.value, names);
        }
        Value::Tagged(tagged) => names_used(&tagged.value, names),
        Value::Mapping(mapping) => mapping.iter().for_each(|(key, value)| {
            if key.as_str() == Some("Ref") {
                names.extend(value.as_str().map(str::to_owned));
            }
            names_used(value, names);
        }),
        Value::Sequence(values) => values.iter().for_each(|value| names_used(value, names)),
        _ => {}
    }
}

/// The `${Name}` / `${Name.Attribute}` placeholders of a `!Sub` string, as
/// `Name`s (`${!Literal}` is not a placeholder).
fn placeholders(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter(|part| !part.starts_with('!'))
        .map(|part| part.split('}').next().unwrap().split('.').next().unwrap().to_owned())
        .collect()
}

/// Alarms on one Lambda metric, as the functions they watch.
fn lambda_alarms(template: &Value, metric: &str) -> Vec<(String, Value)> {
    of_type(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, alarm)| {
            alarm["Properties"]["Namespace"].as_str() == Some("AWS/Lambda")
                && alarm["Properties"]["MetricName"].as_str() == Some(metric)
        })
        .filter_map(|(_, alarm)| {
            let dimensions = alarm["Properties"]["Dimensions"].as_sequence()?;
            let function = dimensions.iter().find(|d| d["Name"].as_str() == Some("FunctionName"))?;
            Some((function_watched(&function["Value"]).unwrap().to_owned(), alarm.clone()))
        })
        .collect()
}

fn is_api_function(function: &Value) -> bool {
    let Some(events) = function["Properties"]["Events"].as_mapping() else { return false };
    events.values().any(|event| event["Type"].as_str() == Some("HttpApi"))
}

#[test]
fn every_function_is_traced_with_x_ray() {
    let template = template();
    let global = template["Globals"]["Function"]["Tracing"].as_str();
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let tracing = function["Properties"]["Tracing"].as_str().or(global);
        assert_eq!(tracing, Some("Active"), "{id} is not traced");
    }
}

#[test]
fn every_function_has_an_errors_alarm_and_every_api_function_a_p99_duration_alarm() {
    let template = template();
    let errors = lambda_alarms(&template, "Errors");
    let durations = lambda_alarms(&template, "Duration");
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let (_, alarm) =
            errors.iter().find(|(watched, _)| *watched == id).unwrap_or_else(|| panic!("{id}: no Errors alarm"));
        assert_eq!(alarm["Properties"]["Statistic"].as_str(), Some("Sum"), "{id}");
        if is_api_function(&function) {
            let (_, alarm) = durations
                .iter()
                .find(|(watched, _)| *watched == id)
                .unwrap_or_else(|| panic!("{id}: no Duration alarm"));
            assert_eq!(alarm["Properties"]["ExtendedStatistic"].as_str(), Some("p99"), "{id}");
        }
    }
}

#[test]
fn every_alarm_notifies_the_alarm_topic_and_the_topic_is_an_output() {
    let template = template();
    let alarms = of_type(&template, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() > 40, "only {} alarms", alarms.len());
    for (id, alarm) in alarms {
        for actions in ["AlarmActions", "OKActions"] {
            let actions = alarm["Properties"][actions].as_sequence().unwrap_or_else(|| panic!("{id}: no {actions}"));
            assert!(actions.iter().any(|action| reference(action) == Some("AlarmTopic")), "{id}: not to AlarmTopic");
        }
    }
    let resources = &template["Resources"];
    assert_eq!(resources["AlarmTopic"]["Type"].as_str(), Some("AWS::SNS::Topic"));
    let subscription = &resources["AlarmEmailSubscription"];
    assert_eq!(subscription["Condition"].as_str(), Some("HasAlarmEmail"), "the e-mail is optional");
    assert_eq!(reference(&subscription["Properties"]["Endpoint"]), Some("AlarmEmail"));
    assert_eq!(reference(&template["Outputs"]["AlarmTopicArn"]["Value"]), Some("AlarmTopic"));
}

#[test]
fn the_api_error_rates_the_queues_and_the_table_are_alarmed() {
    let template = template();
    let alarms: Vec<String> =
        of_type(&template, "AWS::CloudWatch::Alarm").into_iter().map(|(_, alarm)| format!("{alarm:?}")).collect();
    let watched = |needles: &[&str]| alarms.iter().any(|alarm| needles.iter().all(|needle| alarm.contains(needle)));
    assert!(watched(&["\"5xx\"", "\"Count\"", "AWS/ApiGateway"]), "5xx rate");
    assert!(watched(&["\"4xx\"", "\"Count\"", "AWS/ApiGateway"]), "4xx (throttling) rate");
    assert!(watched(&["\"Throttles\"", "AWS/Lambda"]), "Lambda throttles");
    assert!(watched(&["ReadThrottleEvents", "WriteThrottleEvents", "AWS/DynamoDB"]), "table throttles");
    assert!(watched(&["SystemErrors", "AWS/DynamoDB"]), "table system errors");
    assert!(watched(&["IngestDeadLetterQueue", "ApproximateNumberOfMessagesVisible"]), "ingest DLQ");
    assert!(watched(&["ChatDeadLetterQueue", "ApproximateNumberOfMessagesVisible"]), "chat DLQ");
    assert!(watched(&["DestinationDeliveryFailures", "VideoIngestFunction"]), "lost ingest events");
}

/// The dashboard's body with every `${Name...}` replaced by `@Name...@`, parsed.
fn dashboard(template: &Value) -> serde_json::Value {
    let body = &template["Resources"]["Dashboard"]["Properties"]["DashboardBody"];
    let Value::Tagged(tagged) = body else { panic!("DashboardBody is not a !Sub") };
    assert!(tagged.tag == "Sub", "DashboardBody is not a !Sub");
    let text = tagged.value.as_str().unwrap();
    let mut resolved = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').unwrap();
        resolved.push_str(&rest[..start]);
        resolved.push_str(&format!("@{}@", &rest[start + 2..end]));
        rest = &rest[end + 1..];
    }
    resolved.push_str(rest);
    serde_json::from_str(&resolved).unwrap_or_else(|error| panic!("the dashboard is not JSON: {error}"))
}

/// `@Name@` or `@Name.Attribute@` → (`Name`, attribute).
fn placeholder(value: &str) -> Option<(&str, Option<&str>)> {
    let inner = value.strip_prefix('@')?.strip_suffix('@')?;
    Some(match inner.split_once('.') {
        Some((name, attribute)) => (name, Some(attribute)),
        None => (inner, None),
    })
}

#[test]
fn the_dashboard_is_json_and_names_only_resources_of_this_template() {
    let template = template();
    let kind = |name: &str| template["Resources"][name]["Type"].as_str().map(str::to_owned);
    let dashboard = dashboard(&template);
    let widgets = dashboard["widgets"].as_array().unwrap();
    let mut on_lambda = BTreeSet::new();
    let mut custom = BTreeSet::new();
    let mut searched = BTreeSet::new();
    for widget in widgets {
        let properties = &widget["properties"];
        let Some(metrics) = properties["metrics"].as_array() else { continue };
        assert_eq!(properties["region"].as_str(), Some("@AWS::Region@"), "{widget}");
        for row in metrics {
            let row = row.as_array().unwrap();
            if let Some(expression) = row[0]["expression"].as_str() {
                // SEARCH('{DouyinServerless,Code,FunctionName} MetricName="Errors" FunctionName="@X@"', ...)
                let (_, function) = expression.split_once("FunctionName=\"").unwrap();
                let function = placeholder(function.split('"').next().unwrap()).unwrap().0;
                assert_eq!(kind(function).as_deref(), Some("AWS::Serverless::Function"), "{expression}");
                searched.insert(function.to_owned());
                continue;
            }
            let names: Vec<&str> = row.iter().filter_map(|item| item.as_str()).collect();
            let (namespace, metric) = (names[0], names[1]);
            for pair in names[2..].chunks(2) {
                let (dimension, value) = (pair[0], pair[1]);
                let expected = match (namespace, dimension) {
                    ("AWS/Lambda" | "DouyinServerless", "FunctionName") => "AWS::Serverless::Function",
                    ("AWS/ApiGateway", "ApiId") => "AWS::Serverless::HttpApi",
                    ("AWS/DynamoDB", "TableName") => "AWS::DynamoDB::Table",
                    ("AWS/SQS", "QueueName") => "AWS::SQS::Queue",
                    ("AWS/DynamoDB", "GlobalSecondaryIndexName") => {
                        assert!(["gsi1", "gsi2"].contains(&value), "unknown index {value}");
                        continue;
                    }
                    other => panic!("unexpected dimension {other:?}"),
                };
                let (name, attribute) =
                    placeholder(value).unwrap_or_else(|| panic!("{metric}: {dimension} {value} is written out"));
                assert_eq!(kind(name).as_deref(), Some(expected), "{metric}: {dimension} {name}");
                assert_eq!(attribute, (namespace == "AWS/SQS").then_some("QueueName"), "{metric}: {value}");
                if namespace == "AWS/Lambda" {
                    on_lambda.insert((metric.to_owned(), name.to_owned()));
                }
            }
            if namespace == "DouyinServerless" {
                custom.insert(metric.to_owned());
            }
        }
    }
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        for metric in ["Duration", "Errors", "Throttles"] {
            assert!(on_lambda.contains(&(metric.to_owned(), id.clone())), "{id}: no {metric} on the dashboard");
        }
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        if ENDPOINTS.iter().any(|endpoint| endpoint.name == binary) {
            assert!(searched.contains(&id), "{id}: its errors by code are not on the dashboard");
        }
    }
    for metric in [
        "Registrations",
        "Logins",
        "UploadsAccepted",
        "UploadsRejected",
        "Likes",
        "Comments",
        "Follows",
        "MessagesSent",
        "MessagesPersisted",
        "HandlerLatency",
    ] {
        assert!(custom.contains(metric), "custom metric {metric} is not on the dashboard");
    }
}

#[test]
fn every_parameter_is_used() {
    let template = template();
    let mut used = BTreeSet::new();
    for section in ["Conditions", "Globals", "Resources", "Outputs"] {
        names_used(&template[section], &mut used);
    }
    for parameter in template["Parameters"].as_mapping().unwrap().keys() {
        let parameter = parameter.as_str().unwrap();
        assert!(used.contains(parameter), "parameter {parameter} is never used");
    }
}

fn config_source() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/src/config.rs")).unwrap()
}

#[test]
fn the_template_sets_only_variables_config_reads_and_every_one_it_requires() {
    let template = template();
    let source = config_source();
    // `required("DOUYIN_TABLE")`, and the secret's ARN, which is required on AWS.
    let mut required: BTreeSet<String> =
        source.split("required(\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect();
    assert!(required.contains("DOUYIN_TABLE") && required.contains("DOUYIN_MEDIA_BUCKET"), "{required:?}");
    required.insert("DOUYIN_JWT_SECRET_ARN".to_owned());
    let global = template["Globals"]["Function"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let mut variables = global.clone();
        if let Some(own) = function["Properties"]["Environment"]["Variables"].as_mapping() {
            variables.extend(own.clone());
        }
        let names: BTreeSet<String> = variables.keys().map(|name| name.as_str().unwrap().to_owned()).collect();
        // The C library's, not ours: `the_functions_that_decode_keep_what_their_allocator_frees`.
        for name in names.iter().filter(|name| name.as_str() != "GLIBC_TUNABLES") {
            assert!(
                source.contains(&format!("\"{name}\"")),
                "{id} sets {name}, which shared/src/config.rs never reads"
            );
        }
        // The fallback answers 404/405 from the route table and reads only
        // where each endpoint's function is (config.rs, FallbackConfig).
        if function["Metadata"]["BuildProperties"]["Binary"].as_str() != Some("route-fallback") {
            for name in &required {
                assert!(names.contains(name), "{id} does not set {name}, which config.rs requires");
            }
        }
    }
}

/// The functions that decode video (publish's request, the ingest) run with
/// glibc's allocator keeping what a decode frees (docs/performance.md, "The
/// decoder's memory"), with one setting; the others as glibc comes.
#[test]
fn the_functions_that_decode_keep_what_their_allocator_frees() {
    let template = template();
    let mut tuned = BTreeSet::new();
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        if let Some(value) = function["Properties"]["Environment"]["Variables"]["GLIBC_TUNABLES"].as_str() {
            let settings: BTreeSet<&str> = value.split(':').collect();
            assert_eq!(
                settings,
                BTreeSet::from(["glibc.malloc.mmap_threshold=33554432", "glibc.malloc.trim_threshold=268435456"]),
                "{id}: 32 MiB is the most glibc accepts for the threshold on 64-bit"
            );
            tuned.insert(function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(tuned, BTreeSet::from(["publish-action".to_owned(), "video-ingest".to_owned()]));
    // That the merge kept their application variables is
    // `the_template_sets_only_variables_config_reads_and_every_one_it_requires`.
}

/// One environment of samconfig.toml that deploys.
struct SamEnvironment {
    name: String,
    stack: String,
    overrides: Vec<(String, String)>,
}

/// The deploying environments of samconfig.toml, read line by line (the file
/// is flat `key = "value"` TOML).
fn samconfig() -> Vec<SamEnvironment> {
    let text = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samconfig.toml")).unwrap();
    let mut stacks = std::collections::BTreeMap::<String, String>::new();
    let mut overrides = std::collections::BTreeMap::<String, Vec<(String, String)>>::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|line| line.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once(" = ") else { continue };
        let environment = section.split('.').next().unwrap().to_owned();
        let value = value.trim_matches('"');
        match key {
            "stack_name" => {
                stacks.insert(environment, value.to_owned());
            }
            "parameter_overrides" => {
                let pairs = value.split_whitespace().map(|pair| {
                    let (name, value) = pair.split_once('=').unwrap();
                    (name.to_owned(), value.trim_matches('"').to_owned())
                });
                overrides.insert(environment, pairs.collect());
            }
            _ => {}
        }
    }
    overrides
        .into_iter()
        .map(|(name, overrides)| {
            let stack = stacks.get(&name).unwrap_or_else(|| panic!("{name}: no stack_name")).clone();
            SamEnvironment { name, stack, overrides }
        })
        .collect()
}

#[test]
fn samconfig_environments_override_real_parameters_and_give_each_stage_one_stack() {
    let template = template();
    let parameters = &template["Parameters"];
    let environments = samconfig();
    let names: BTreeSet<&str> = environments.iter().map(|environment| environment.name.as_str()).collect();
    assert_eq!(names, ["default", "dev", "prod"].into());
    let mut stage_of_stack = std::collections::BTreeMap::new();
    for SamEnvironment { name: environment, stack, overrides } in &environments {
        for (name, value) in overrides {
            let parameter = &parameters[name.as_str()];
            assert!(parameter.is_mapping(), "{environment}: {name} is not a parameter of the template");
            if let Some(allowed) = parameter["AllowedValues"].as_sequence() {
                assert!(allowed.iter().any(|a| a.as_str() == Some(value)), "{environment}: {name}={value}");
            }
            if parameter["Type"].as_str() == Some("Number") {
                let number: f64 = value.parse().unwrap_or_else(|_| panic!("{environment}: {name}={value}"));
                assert!(parameter["MinValue"].as_f64().is_none_or(|min| number >= min), "{environment}: {name}");
                assert!(parameter["MaxValue"].as_f64().is_none_or(|max| number <= max), "{environment}: {name}");
            }
        }
        let stage = overrides.iter().find(|(name, _)| name == "Stage").map(|(_, stage)| stage.clone());
        let stage = stage.unwrap_or_else(|| parameters["Stage"]["Default"].as_str().unwrap().to_owned());
        // The media bucket's name carries the stage: two stacks of one stage collide.
        if let Some(other) = stage_of_stack.insert(stack.clone(), stage.clone()) {
            assert_eq!(other, stage, "{environment}: stack {stack} deployed with two stages");
        }
    }
    let stages: BTreeSet<&String> = stage_of_stack.values().collect();
    assert_eq!(stages.len(), stage_of_stack.len(), "two stacks of one stage: {stage_of_stack:?}");
}

/// Every `.rs` file under `dir`, concatenated.
fn sources(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text.push_str(&sources(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            text.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    text
}

#[test]
fn every_custom_metric_the_dashboard_plots_is_one_the_code_emits_with_the_same_dimensions() {
    use shared::metrics::{CODE, ERRORS, FUNCTION_NAME, HANDLER_LATENCY, Metric, NAMESPACE};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let library = sources(&root.join("shared/src"))
        .replace(&std::fs::read_to_string(root.join("shared/src/metrics.rs")).unwrap(), "");
    let edge = sources(&root.join("functions/src/edge"));
    // Counted somewhere in the library, or measured by `respond` for every request.
    let mut emitted: BTreeSet<String> = Metric::ALL
        .into_iter()
        .filter(|metric| library.contains(&format!("Metric::{metric:?})")))
        .map(|metric| metric.name().to_owned())
        .collect();
    if edge.contains(".handler_latency(") {
        emitted.insert(HANDLER_LATENCY.to_owned());
    }
    if edge.contains(".error(status_code)") {
        emitted.insert(ERRORS.to_owned());
    }

    let dashboard = dashboard(&template());
    let (mut plotted, mut searched) = (0, 0);
    for widget in dashboard["widgets"].as_array().unwrap() {
        let Some(rows) = widget["properties"]["metrics"].as_array() else { continue };
        for row in rows {
            let row = row.as_array().unwrap();
            if let Some(expression) = row[0]["expression"].as_str() {
                // SEARCH('{DouyinServerless,Code,FunctionName} MetricName="Errors" FunctionName="…"', 'Sum', 300)
                let schema = expression.split_once('{').unwrap().1.split_once('}').unwrap().0;
                let mut schema: Vec<&str> = schema.split(',').collect();
                assert_eq!(schema.remove(0), NAMESPACE, "{expression}");
                let dimensions: BTreeSet<&str> = schema.into_iter().collect();
                assert_eq!(dimensions, BTreeSet::from([CODE, FUNCTION_NAME]), "{expression}");
                let metric = expression.split_once("MetricName=\"").unwrap().1.split('"').next().unwrap();
                assert_eq!(metric, ERRORS, "{expression}");
                assert!(emitted.contains(metric), "the code never emits {metric}");
                searched += 1;
                continue;
            }
            let names: Vec<&str> = row.iter().filter_map(|item| item.as_str()).collect();
            if names[0] != NAMESPACE {
                continue;
            }
            assert!(emitted.contains(names[1]), "the dashboard plots {}, which the code never emits", names[1]);
            let dimensions: Vec<&str> = names[2..].iter().step_by(2).copied().collect();
            assert_eq!(dimensions, [FUNCTION_NAME], "{}: the code's dimensions are FunctionName only", names[1]);
            plotted += 1;
        }
    }
    assert!(plotted > 0 && searched > 0, "no custom metric on the dashboard");
}

/// A web client hosted on another origin can call the API: the HTTP API
/// allows every method the router serves, from the deployer's origins.
#[test]
fn the_api_allows_browsers_every_method_of_the_router() {
    let template = template();
    let cors = &template["Resources"]["Api"]["Properties"]["CorsConfiguration"];
    let allowed: BTreeSet<String> =
        cors["AllowMethods"].as_sequence().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()).collect();
    for endpoint in ENDPOINTS {
        assert!(allowed.contains(endpoint.method.as_str()), "{endpoint:?} not allowed by CORS: {allowed:?}");
    }
    assert!(format!("{:?}", cors["AllowOrigins"]).contains("WebOrigins"), "origins from the WebOrigins parameter");
}

// ------------------------------------------------------------ parameters
// A parameter value CloudFormation accepts is one the cold start accepts.

/// A parameter's `AllowedValues` as text.
fn allowed_values(template: &Value, parameter: &str) -> Vec<String> {
    template["Parameters"][parameter]["AllowedValues"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{parameter} has no AllowedValues"))
        .iter()
        .map(|value| match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            other => panic!("{parameter}: {other:?}"),
        })
        .collect()
}

#[test]
fn the_time_zone_parameter_allows_exactly_the_names_the_configuration_parses() {
    let allowed = allowed_values(&template(), "TimeZone");
    let names: Vec<String> = jiff::tz::db().available().map(|name| name.to_string()).collect();
    assert!(names.iter().all(|name| shared::config::time_zone(name).is_some()), "each name parses");
    assert_eq!(
        allowed,
        names,
        "TimeZone's AllowedValues must be the bundled tz database's names, in its order (DOUYIN_TIME_ZONE); paste:\n[{}]",
        names.join(", ")
    );
}

/// The app functions' variables as (variable, parameter) where the value is a
/// `!Ref` to a parameter, and a base environment: every such variable at its
/// parameter's default, the stack's resources as placeholders.
fn parameter_variables(template: &Value) -> (Vec<(String, String)>, std::collections::HashMap<String, String>) {
    let (_, register) = functions(template).into_iter().find(|(binary, _)| binary == "user-register").unwrap();
    let parameters = template["Parameters"].as_mapping().unwrap();
    let mut mapped = Vec::new();
    let mut base = std::collections::HashMap::new();
    for (name, value) in register["Properties"]["Environment"]["Variables"].as_mapping().unwrap() {
        let name = name.as_str().unwrap().to_owned();
        match reference(value).filter(|target| parameters.contains_key(*target)) {
            Some(parameter) => {
                let default = match &template["Parameters"][parameter]["Default"] {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    other => panic!("{parameter} default {other:?}"),
                };
                base.insert(name.clone(), default);
                mapped.push((name, parameter.to_owned()));
            }
            None => {
                base.insert(name.clone(), format!("arn:aws:placeholder:::{name}"));
            }
        }
    }
    (mapped, base)
}

fn accepted(base: &std::collections::HashMap<String, String>, changes: &[(&str, String)]) -> Result<(), String> {
    let mut environment = base.clone();
    for (name, value) in changes {
        environment.insert((*name).to_owned(), value.clone());
    }
    shared::config::Config::from_lookup(|name| environment.get(name).cloned()).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn every_bound_and_allowed_value_of_a_parameter_is_accepted_by_the_configuration() {
    let template = template();
    let (mapped, base) = parameter_variables(&template);
    accepted(&base, &[]).unwrap();
    let mut checked = 0;
    for (variable, parameter) in &mapped {
        let spec = &template["Parameters"][parameter.as_str()];
        let mut values: Vec<String> = ["MinValue", "MaxValue"]
            .into_iter()
            .filter_map(|bound| spec[bound].as_u64().map(|n| n.to_string()))
            .collect();
        if spec["AllowedValues"].is_sequence() {
            values.extend(allowed_values(&template, parameter));
        }
        for value in values {
            let verdict = accepted(&base, &[(variable.as_str(), value.clone())]);
            assert!(verdict.is_ok(), "{parameter}={value} is allowed by the template but refused: {verdict:?}");
            checked += 1;
        }
    }
    assert!(checked > 600, "{checked} values checked");
    // The argon2 bounds hold together: every corner of the three ranges.
    let bounds = |parameter: &str| {
        let spec = &template["Parameters"][parameter];
        [spec["MinValue"].as_u64().unwrap(), spec["MaxValue"].as_u64().unwrap()]
    };
    for memory in bounds("Argon2MemoryKib") {
        for iterations in bounds("Argon2Iterations") {
            for lanes in bounds("Argon2Parallelism") {
                let verdict = accepted(
                    &base,
                    &[
                        ("DOUYIN_ARGON2_MEMORY_KIB", memory.to_string()),
                        ("DOUYIN_ARGON2_ITERATIONS", iterations.to_string()),
                        ("DOUYIN_ARGON2_PARALLELISM", lanes.to_string()),
                    ],
                );
                assert!(verdict.is_ok(), "argon2 m={memory} t={iterations} p={lanes}: {verdict:?}");
            }
        }
    }
}

/// The text of a `!Sub` (its first element when it has variables).
fn sub_text(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Sub" => match &tagged.value {
            Value::Sequence(parts) => parts[0].as_str().unwrap().to_owned(),
            other => other.as_str().unwrap().to_owned(),
        },
        other => panic!("not a !Sub: {other:?}"),
    }
}

/// The elements of an `!If [condition, then, else]`.
fn if_parts(value: &Value) -> Vec<Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "If" => tagged.value.as_sequence().unwrap().clone(),
        other => panic!("not an !If: {other:?}"),
    }
}

#[test]
fn the_media_cdn_is_optional_reads_only_published_media_and_caches_it_for_a_year() {
    use shared::media::{DEFAULT_AVATAR_KEY, IMMUTABLE};
    use shared::videos::{UPLOAD_PREFIX, cover_key, play_key};
    let template = template();
    let resources = &template["Resources"];
    assert_eq!(template["Parameters"]["MediaCdn"]["Default"].as_str(), Some("false"), "off by default");
    assert_eq!(format!("{:?}", template["Conditions"]["HasMediaCdn"]).matches("MediaCdn").count(), 1);

    for id in ["MediaOriginAccessControl", "MediaCachePolicy", "MediaDistribution"] {
        assert_eq!(resources[id]["Condition"].as_str(), Some("HasMediaCdn"), "{id}");
        // Every function's environment names the distribution: anything it
        // depends on must not depend on the bucket (whose notification depends
        // on VideoIngestFunction) or on a function.
        let text = format!("{:?}", resources[id]);
        assert!(!text.contains("MediaBucket") && !text.contains("Function"), "{id} would make a cycle: {text}");
    }

    let config = &resources["MediaDistribution"]["Properties"]["DistributionConfig"];
    let origins = config["Origins"].as_sequence().unwrap();
    assert_eq!(origins.len(), 1);
    let bucket = sub_text(&resources["MediaBucket"]["Properties"]["BucketName"]);
    let domain = sub_text(&origins[0]["DomainName"]);
    assert!(domain.starts_with(&format!("{bucket}.s3.${{AWS::Region}}.")), "{domain} is not the bucket {bucket}");
    assert!(format!("{:?}", origins[0]["OriginAccessControlId"]).contains("MediaOriginAccessControl.Id"));
    let behavior = &config["DefaultCacheBehavior"];
    assert_eq!(
        format!("{:?}", behavior["AllowedMethods"]),
        format!("{:?}", config["DefaultCacheBehavior"]["CachedMethods"])
    );
    let methods: Vec<&str> =
        behavior["AllowedMethods"].as_sequence().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert_eq!(methods, ["GET", "HEAD"]);
    assert_ne!(behavior["ViewerProtocolPolicy"].as_str(), Some("allow-all"));
    assert_eq!(reference(&behavior["CachePolicyId"]), Some("MediaCachePolicy"));
    assert!(config["CacheBehaviors"].is_null(), "one behaviour for every key");

    // Cached as long as the objects say they may be, keyed by the path alone.
    let max_age: u64 = IMMUTABLE.split("max-age=").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    let cache = &resources["MediaCachePolicy"]["Properties"]["CachePolicyConfig"];
    assert_eq!((cache["DefaultTTL"].as_u64(), cache["MaxTTL"].as_u64()), (Some(max_age), Some(max_age)));
    let key = &cache["ParametersInCacheKeyAndForwardedToOrigin"];
    for (part, behaviour) in [
        ("CookiesConfig", "CookieBehavior"),
        ("HeadersConfig", "HeaderBehavior"),
        ("QueryStringsConfig", "QueryStringBehavior"),
    ] {
        assert_eq!(key[part][behaviour].as_str(), Some("none"), "{part}");
    }

    // The bucket lets this distribution read what is published, nothing else.
    let statements = resources["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    let conditional: Vec<Vec<Value>> =
        statements.iter().filter(|s| matches!(s, Value::Tagged(t) if t.tag == "If")).map(if_parts).collect();
    assert_eq!(conditional.len(), 1);
    assert_eq!(conditional[0][0].as_str(), Some("HasMediaCdn"));
    assert_eq!(reference(&conditional[0][2]), Some("AWS::NoValue"));
    let read = &conditional[0][1];
    assert_eq!(read["Effect"].as_str(), Some("Allow"));
    assert_eq!(read["Principal"]["Service"].as_str(), Some("cloudfront.amazonaws.com"));
    assert_eq!(read["Action"].as_str(), Some("s3:GetObject"));
    let prefix_of = |key: &str| format!("{}/", key.split('/').next().unwrap());
    let published: BTreeSet<String> =
        [play_key(1, b"v"), cover_key(1, b"v"), DEFAULT_AVATAR_KEY.to_owned()].iter().map(|k| prefix_of(k)).collect();
    let granted: BTreeSet<String> = read["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|resource| sub_text(resource).trim_start_matches("${MediaBucket.Arn}/").trim_end_matches('*').to_owned())
        .collect();
    assert_eq!(granted, published);
    assert!(!granted.contains(UPLOAD_PREFIX), "pending uploads would be readable through the CDN");
    let source = sub_text(&read["Condition"]["StringEquals"]["AWS:SourceArn"]);
    assert!(source.starts_with("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/"), "{source}");
    assert!(source.ends_with("${MediaDistribution}"), "{source}");

    // Media links point at the distribution when it is on, at MediaBaseUrl otherwise.
    for (binary, function) in functions(&template) {
        if binary == "route-fallback" {
            continue;
        }
        let base = if_parts(&function["Properties"]["Environment"]["Variables"]["DOUYIN_MEDIA_BASE_URL"]);
        assert_eq!(base[0].as_str(), Some("HasMediaCdn"), "{binary}");
        assert_eq!(sub_text(&base[1]), "https://${MediaDistribution.DomainName}", "{binary}");
        assert_eq!(reference(&base[2]), Some("MediaBaseUrl"), "{binary}");
    }
}

/// Issue 14, finding 11: on Lambda the functions' credentials carry no expiry a
/// presigned link could be cut at, so production signs no media link: `prod`
/// serves media through the stack's CloudFront distribution.
#[test]
fn production_serves_media_through_the_cdn() {
    let prod = samconfig().into_iter().find(|environment| environment.name == "prod").expect("a prod environment");
    assert!(
        prod.overrides.iter().any(|(name, value)| name == "MediaCdn" && value == "true"),
        "prod must deploy with MediaCdn=true: {:?}",
        prod.overrides
    );
    let parameter = &template()["Parameters"]["MediaCdn"];
    assert!(parameter.is_mapping(), "template.yaml declares MediaCdn");
}
