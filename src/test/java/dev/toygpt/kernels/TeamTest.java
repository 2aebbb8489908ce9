package dev.toygpt.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TeamTest {
    @Test
    void everyRankRunsOnceOnItsOwnThreadAndRankZeroOnTheCaller() {
        try (Team team = new Team(3)) {
            for (int round = 0; round < 50; round++) {
                AtomicIntegerArray runs = new AtomicIntegerArray(3);
                Set<Thread> threads = ConcurrentHashMap.newKeySet();
                Thread[] rankZero = new Thread[1];
                team.run(rank -> {
                    runs.incrementAndGet(rank);
                    threads.add(Thread.currentThread());
                    if (rank == 0) rankZero[0] = Thread.currentThread();
                });
                for (int r = 0; r < 3; r++) assertEquals(1, runs.get(r), "rank " + r);
                assertEquals(3, threads.size());
                assertSame(Thread.currentThread(), rankZero[0]);
            }
        }
    }

    /**
     * What a member writes before a barrier, every member reads after it: no torn or stale step. Each member
     * counts its own barriers; with three or four, one that passes early must still wait at the next barrier
     * for the slowest, which now and then sleeps a little inside a step.
     */
    @ParameterizedTest(name = "size={0}")
    @ValueSource(ints = {2, 3, 4})
    @Timeout(120) // a member left waiting for a count that was overtaken would hang here
    void afterAnAwaitEveryMemberSeesWhatTheOthersWroteBeforeIt(int size) {
        int steps = 20_000;
        int[] slots = new int[size];
        int[] wrong = new int[size];
        try (Team team = new Team(size)) {
            team.run(rank -> {
                for (int step = 1; step <= steps; step++) {
                    if (rank == size - 1 && step % 2_000 == 0) LockSupport.parkNanos(100_000);
                    slots[rank] = step;
                    team.await();
                    for (int r = 0; r < size; r++) if (slots[r] != step) wrong[rank]++;
                    team.await(); // nobody writes the next step before everyone has read this one
                }
            });
        }
        for (int r = 0; r < size; r++) assertEquals(0, wrong[r], "rank " + r);
    }

    @Test
    void aMembersExceptionReachesTheCallerAndClosesTheTeam() {
        Team team = new Team(2);
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, () -> team.run(rank -> {
            if (rank == 1) throw new IllegalArgumentException("member 1 broke");
            team.await(); // would wait forever for member 1 if the failure were not seen
        }));
        assertEquals("member 1 broke", thrown.getMessage());
        assertThrows(IllegalStateException.class, () -> team.run(rank -> {}));
    }

    @Test
    void closeEndsTheMembersThreads() throws InterruptedException {
        Team team = new Team(3);
        team.run(rank -> {});
        team.close();
        for (int rank = 1; rank < 3; rank++) {
            Thread member = team.member(rank);
            member.join(5_000);
            assertFalse(member.isAlive(), "member " + rank + " still running");
        }
    }

    @Test
    void aTeamOfOneRunsOnTheCallerWithoutThreads() {
        try (Team team = new Team(1)) {
            Thread[] ran = new Thread[1];
            team.run(rank -> {
                team.await();
                ran[0] = Thread.currentThread();
            });
            assertSame(Thread.currentThread(), ran[0]);
        }
        assertThrows(IllegalArgumentException.class, () -> new Team(0));
    }
}
