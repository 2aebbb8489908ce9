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

    /**
     * Posted jobs run on member 1, in the order posted, while the caller goes on; drain returns once all
     * have run, and what they wrote is then seen. More jobs than the ring holds make post wait for room.
     * Runs between posts see member 1 free again.
     */
    @Test
    @Timeout(60)
    void postedJobsRunInOrderOnMemberOneAndDrainWaitsForThem() {
        try (Team team = new Team(3)) {
            int jobs = 1_000;
            long[] seen = new long[jobs + 5];
            Thread[] ranOn = new Thread[1];
            int[] count = new int[1]; // written by member 1 only, read after drain
            Team.Job job = arg -> {
                seen[count[0]++] = arg;
                ranOn[0] = Thread.currentThread();
                if (arg % 97 == 0) LockSupport.parkNanos(200_000); // now and then slower than the posts
            };
            for (int i = 0; i < jobs; i++) {
                team.post(job, 7L * i + ((long) i << 40));
                if (i % 250 == 249) {
                    team.drain();
                    assertEquals(i + 1, count[0]);
                    AtomicIntegerArray runs = new AtomicIntegerArray(3);
                    team.run(runs::incrementAndGet); // between jobs, member 1 takes part in runs as before
                    for (int r = 0; r < 3; r++) assertEquals(1, runs.get(r));
                }
            }
            team.drain();
            assertSame(team.member(1), ranOn[0]);
            for (int i = 0; i < jobs; i++) assertEquals(7L * i + ((long) i << 40), seen[i], "job " + i);
            // a run without a drain first waits for the jobs posted before it
            for (int i = 0; i < 5; i++) team.post(job, i);
            int[] seenByRun = new int[3];
            team.run(rank -> seenByRun[rank] = count[0]);
            for (int r = 0; r < 3; r++) assertEquals(jobs + 5, seenByRun[r], "rank " + r);
            count[0] = jobs; // back to what the checks below expect: the five extra jobs were only for the run
            // another job from now on: the jobs before it still run with theirs
            long[] sum = new long[2];
            team.post(arg -> sum[0] += arg, 5);
            team.post(arg -> sum[1] += arg, 6);
            team.drain();
            assertEquals(5, sum[0]);
            assertEquals(6, sum[1]);
        }
    }

    @Test
    void aPostedJobsExceptionIsThrownByTheNextDrainOrPostAndClosesTheTeam() {
        Team team = new Team(2);
        team.post(arg -> {
            throw new IllegalArgumentException("job " + arg + " broke");
        }, 4);
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, team::drain);
        assertEquals("job 4 broke", thrown.getMessage());
        assertFalse(team.isOpen());
        assertThrows(IllegalArgumentException.class, () -> team.post(arg -> {}, 5));
        assertThrows(IllegalStateException.class, () -> team.run(rank -> {}));
        try (Team one = new Team(1)) {
            assertThrows(IllegalStateException.class, () -> one.post(arg -> {}, 1)); // no member to post to
            one.drain(); // nothing to wait for
        }
    }
}
