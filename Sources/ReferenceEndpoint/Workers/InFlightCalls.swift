/// The calls a worker has in flight, by call id, in the order they were sent.
///
/// Call ids come from one increasing counter (`PoolState.nextCallID`), so the entries, appended as calls are
/// sent, stay sorted by id. A taken entry is cleared in place and the oldest live entry is found from `head`:
/// results come back mostly in send order (in exactly that order from a worker with one call thread), so
/// `take` usually finds its call at `head` and otherwise by binary search; no id is ever hashed. Cleared
/// entries are dropped once they outnumber the live ones (a slow call at `head` holds no memory behind it), so
/// the storage stays within about twice the calls in flight.
struct InFlightCalls {
    private struct Entry {
        let id: UInt64
        var call: InFlightCall?
    }

    /// Sorted by id; `entries[head]` is the oldest live call (or `head == entries.count` when none is live).
    private var entries: [Entry] = []
    private var head = 0
    /// The live entries.
    private(set) var count = 0

    /// The entries stored, live or cleared (what the compaction bounds).
    var storedEntries: Int { entries.count }

    /// Whether no call is in flight.
    var isEmpty: Bool { count == 0 }

    /// Adds `call` under `id`, which must be greater than every id added before.
    mutating func append(id: UInt64, _ call: InFlightCall) {
        precondition(entries.last.map { $0.id < id } ?? true, "call ids must increase")
        if entries.count >= 2 * count + 32 { dropCleared() }
        entries.append(Entry(id: id, call: call))
        count += 1
    }

    /// Removes and returns the call `id`; nil if there is no such call in flight (never sent here, or taken).
    mutating func take(id: UInt64) -> InFlightCall? {
        guard let index = index(of: id), let call = entries[index].call else { return nil }
        entries[index].call = nil
        count -= 1
        if index == head { advanceHead() }
        return call
    }

    /// The live calls with their ids, oldest (lowest id) first.
    func callsWithIDs() -> [(id: UInt64, call: InFlightCall)] {
        var result: [(id: UInt64, call: InFlightCall)] = []
        result.reserveCapacity(count)
        for entry in entries[head...] {
            if let call = entry.call { result.append((entry.id, call)) }
        }
        return result
    }

    /// The live call sent first by the clock (`sentAt`; ids and send times can disagree by the moment between
    /// two dispatchers reading the clock), nil when none is in flight.
    func earliestSent() -> InFlightCall? {
        var earliest: InFlightCall?
        for entry in entries[head...] {
            guard let call = entry.call else { continue }
            if earliest.map({ call.sentAt < $0.sentAt }) ?? true { earliest = call }
        }
        return earliest
    }

    /// The index of the entry `id` at or after `head` (live or cleared), nil if there is none.
    private func index(of id: UInt64) -> Int? {
        guard head < entries.count else { return nil }
        if entries[head].id == id { return head }
        var low = head
        var high = entries.count
        while low < high {
            let middle = low + (high - low) / 2
            if entries[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low < entries.count && entries[low].id == id ? low : nil
    }

    /// Moves `head` past cleared entries; empties the storage when no call is left.
    private mutating func advanceHead() {
        while head < entries.count, entries[head].call == nil { head += 1 }
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// Removes every cleared entry, keeping the live ones in order.
    private mutating func dropCleared() {
        var kept = 0
        for index in head..<entries.count where entries[index].call != nil {
            entries.swapAt(kept, index)
            kept += 1
        }
        entries.removeSubrange(kept...)
        head = 0
    }
}
