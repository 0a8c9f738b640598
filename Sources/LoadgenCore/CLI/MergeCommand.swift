import CommandLine
import EndpointSpec

/// `loadgen merge SHARD.json... [--json OUT.json] [--hdr-log FILE] [--allow-partial]`: one result from the
/// shard results of a sharded run (`loadgen run --shard K/N --start-at T0`).
enum MergeCommand {
    static let exitCodes = """
        EXIT CODES:
            0  merged; every threshold passed
            1  merged; at least one threshold failed
            2  usage error; a file missing, unreadable or not a shard result; shards from different runs
               (fingerprint, shard count or start time differ); a shard given twice; a shard missing
               (without --allow-partial)
            4  cannot write the --json or --hdr-log file
        """

    /// The subcommand's definition for `LoadgenCommand.spec`.
    static let spec = CommandSpec(
        name: "merge", abstract: "Merge the shard results of a sharded run into one result.",
        discussion: """
            Reads the --json files of 'loadgen run --shard K/N --start-at T0', checks that they come from one
            run (same scenario fingerprint, N and T0) and cover shards 0..N-1 exactly once, then adds them:
            counters sum, histograms add bucket by bucket (exact: the merged histogram is the one all the
            shards' calls would have made on one machine), rates are over the planned window. The thresholds
            are judged on the merged result only. Prints the same summary as 'run', plus one line per shard
            (calls, late starts, the shard's own p99).

            \(exitCodes)
            """,
        options: [
            .value("json", valueName: "OUT.json", help: "Write the merged result as JSON ('-' for stdout)."),
            .value(
                "hdr-log", valueName: "FILE",
                help: "Write the merged latencies per second as an HdrHistogram interval log."),
            .flag("allow-partial", help: "Merge the shards given even when some are missing (and say which)."),
            .flag("quiet", short: "q", help: "No summary; failed thresholds are still named on stderr."),
        ],
        positionals: [PositionalSpec("SHARD", help: "shard result JSON files", variadic: true)])

    /// Runs `loadgen merge` with parsed arguments.
    static func run(_ parsed: ParsedArguments, environment: LoadgenEnvironment) -> LoadgenExitCode {
        guard !parsed.positionals.isEmpty else {
            environment.standardError(
                CommandLineError("missing SHARD: give the shard result files", commandPath: parsed.commandPath).report)
            return .usageError
        }
        // One shard in memory at a time: each is added to the merge as it is read.
        var merge = ShardMerge()
        for path in parsed.positionals {
            let shard: ShardResult
            do {
                shard = try ShardResult.load(path: path, currentDirectory: environment.currentDirectory)
            } catch {
                environment.standardError("error: \(error.description)\n")
                return .usageError
            }
            do {
                try merge.add(shard)
            } catch {
                environment.standardError("error: \(error.message)\n")
                return .usageError
            }
        }
        do {
            try merge.finish(allowPartial: parsed.flag("allow-partial"))
        } catch {
            environment.standardError("error: \(error.message)\n")
            return .usageError
        }
        let result = merge.result
        let outcomes = merge.thresholds.map { $0.evaluate(result) }
        let notes = Self.notes(merge)
        let human = parsed.string("json") == "-" ? environment.standardError : environment.standardOutput
        if !parsed.flag("quiet") {
            human(LoadgenCommand.insert(notes.joined(separator: "\n"), into: Report.summary(result, outcomes: outcomes) + shardLines(merge)))
        } else {
            for note in notes { environment.standardError(note + "\n") }
            for outcome in outcomes where !outcome.pass {
                environment.standardError("FAIL  \(outcome.threshold.expression)  observed \(outcome.observedText)\n")
            }
        }
        if let path = parsed.string("json"),
            !LoadgenCommand.write(json(merge, outcomes: outcomes), to: path, flag: "json", environment: environment)
        {
            return .runtimeError
        }
        if let path = parsed.string("hdr-log") {
            let log = HdrIntervalLog.latencies(of: result, command: "loadgen merge")
            guard LoadgenCommand.write(log.text, to: path, flag: "hdr-log", environment: environment) else {
                return .runtimeError
            }
        }
        return outcomes.allSatisfy(\.pass) ? .success : .thresholdsFailed
    }

    /// What the reader must know beside the figures: the shards merged, missing ones, late or cut-short shards.
    static func notes(_ merge: ShardMerge) -> [String] {
        var notes = ["merged \(merge.shards.count) of \(merge.count) shards, started at \(merge.shards.first?.startAt.description ?? "?")"]
        if !merge.missing.isEmpty {
            notes.append(
                "PARTIAL: \(ShardMerge.describe(merge.missing, of: merge.count)) missing: the counts and rates cover "
                    + "only the shards merged")
        }
        let late = merge.shards.filter { $0.lateBySeconds > 0 }
        if !late.isEmpty {
            notes.append(
                "late: " + late.map { "shard \($0.shard) was ready \(formatNumber($0.lateBySeconds, digits: 3))s after the start" }
                    .joined(separator: ", ") + " (its missed arrivals count as not sent: late_start)")
        }
        let cut = merge.shards.filter(\.interrupted)
        if !cut.isEmpty {
            notes.append("interrupted: " + cut.map { "shard \($0.shard) (\($0.file))" }.joined(separator: ", ") + " stopped early")
        }
        return notes
    }

    /// One line per shard: calls, late starts and the shard's own p99 (end-to-end latency of its sent calls).
    static func shardLines(_ merge: ShardMerge) -> String {
        var text = "\nshards:\n"
        for shard in merge.shards {
            let p99 = shard.p99Milliseconds.map(formatMilliseconds) ?? "-"
            text += "  \(pad(shard.shard.description, 8)) calls \(pad(String(shard.calls), 9)) "
                + "late starts \(pad(String(shard.lateStarts), 7)) p99 \(pad(p99, 10)) \(shard.file)\n"
        }
        for index in merge.missing { text += "  \(pad("\(index)/\(merge.count)", 8)) missing\n" }
        return text
    }

    /// The run's `--json` document plus `"shards": {"count", "fingerprint", "start_at", "merged": [{"index",
    /// "file", "calls", "late_start", "late_by_s", "interrupted", "latency_ms"}], "missing": [...]}`.
    static func json(_ merge: ShardMerge, outcomes: [ThresholdOutcome]) -> String {
        var shards = JSONObject()
        shards["count"] = .int(merge.count)
        shards["fingerprint"] = .string(merge.shards.first?.fingerprint ?? "")
        shards["start_at"] = .string(merge.shards.first?.startAt.description ?? "")
        shards["merged"] = .array(
            merge.shards.map { shard in
                var item = JSONObject()
                item["index"] = .int(shard.shard.index)
                item["file"] = .string(shard.file)
                item["calls"] = .int(Int(shard.calls))
                item["late_start"] = .int(Int(shard.lateStarts))
                item["late_by_s"] = .double(shard.lateBySeconds, digits: 3)
                item["interrupted"] = .bool(shard.interrupted)
                item["latency_ms"] = shard.latency
                return .object(item)
            })
        shards["missing"] = .array(merge.missing.map { .int($0) })
        return LoadgenCommand.adding("shards", .object(shards), to: Report.json(merge.result, outcomes: outcomes), after: "target")
    }
}
